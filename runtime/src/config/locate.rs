//! Finding keys in the text of a pipeline file, for error messages that the parsed values
//! alone cannot place: a key inside a block that was parsed as a whole, and the key whose
//! value the YAML parser rejected.

/// A 1-based line and column in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub line: u64,
    pub column: u64,
}

/// Returns the place of `key` among the keys of the mapping whose first key is at `block`,
/// or `None` when the mapping does not set it.
///
/// The whole first line is searched, so a flow mapping (`{ a: 1, b: 2 }`) on one line is
/// covered. After it, only lines at the first key's indentation are, as in a block mapping.
pub fn key_in_block(text: &str, block: Place, key: &str) -> Option<Place> {
    if block.line == 0 || block.column == 0 {
        return None;
    }
    let first_line = usize::try_from(block.line).ok()? - 1;
    let indent = usize::try_from(block.column).ok()? - 1;

    for (index, line) in text.lines().enumerate().skip(first_line) {
        let chars: Vec<char> = line.chars().collect();

        if index == first_line {
            let rest: String = chars.iter().skip(indent).collect();
            if let Some(offset) = flow_key_offset(&rest, key) {
                return Some(Place {
                    line: block.line,
                    column: (indent + offset + 1) as u64,
                });
            }
            continue;
        }

        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let lead = chars.len() - content.chars().count();
        if lead < indent {
            return None;
        }
        if lead == indent && starts_with_key(content, key) {
            return Some(Place {
                line: (index + 1) as u64,
                column: block.column,
            });
        }
    }
    None
}

/// Returns the key of the `key: value` pair that a parser error at `place` concerns: the key
/// right before the place when it points at a value, or the key at the place itself.
pub fn key_at(text: &str, place: Place) -> Option<String> {
    let line = text
        .lines()
        .nth(usize::try_from(place.line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(place.column).ok()?.checked_sub(1)?;
    let before: String = line.chars().take(column).collect();
    let after: String = line.chars().skip(column).collect();

    if let Some(prefix) = before.trim_end().strip_suffix(':') {
        let name: String = prefix
            .chars()
            .rev()
            .take_while(|c| is_key_char(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            return Some(name);
        }
    }

    let name: String = after.chars().take_while(|c| is_key_char(*c)).collect();
    let rest = after[name.len()..].trim_start();
    (!name.is_empty() && rest.starts_with(':')).then_some(name)
}

/// Returns the scalar written at `place`, up to the end of the line, a comment or the next
/// flow separator. Some parser errors point at the key instead of its value, so a leading
/// `key: ` is skipped.
pub fn value_at(text: &str, place: Place) -> Option<String> {
    let line = text
        .lines()
        .nth(usize::try_from(place.line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(place.column).ok()?.checked_sub(1)?;
    let mut after: String = line.chars().skip(column).collect();
    let key_length = after.find(|c: char| !is_key_char(c)).unwrap_or(after.len());
    if key_length > 0 && after[key_length..].starts_with(": ") {
        after = after[key_length + 2..].to_string();
    }
    let end = after
        .find([',', '}', ']'])
        .into_iter()
        .chain(after.find(" #"))
        .min()
        .unwrap_or(after.len());
    let value = after[..end].trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// True if `content` begins with `key` followed by a colon.
fn starts_with_key(content: &str, key: &str) -> bool {
    content
        .strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// Returns the character offset of `key:` in `text` where it starts a key: at the start or
/// after `{`, `,` or a space.
fn flow_key_offset(text: &str, key: &str) -> Option<usize> {
    let mut previous = None;
    for (offset, (byte, c)) in text.char_indices().enumerate() {
        let at_key_start = previous.is_none_or(|p: char| p == '{' || p == ',' || p == ' ');
        if at_key_start && starts_with_key(&text[byte..], key) {
            return Some(offset);
        }
        previous = Some(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
pipelines:
  - name: demo
    limits:
      max_memory: 64 MiB
      # a comment
      fuel: 0
    failure: { max_attempts: 0, initial_backoff: 10 }
    steps:
      - name: step
";

    fn place(line: u64, column: u64) -> Place {
        Place { line, column }
    }

    #[test]
    fn block_key_found_at_its_line() {
        assert_eq!(key_in_block(TEXT, place(4, 7), "fuel"), Some(place(6, 7)));
        assert_eq!(key_in_block(TEXT, place(4, 7), "name"), None);
        assert_eq!(
            key_in_block(TEXT, place(4, 7), "max_memory"),
            Some(place(4, 7))
        );
    }

    #[test]
    fn block_key_not_set_is_none() {
        assert_eq!(key_in_block(TEXT, place(4, 7), "call_timeout"), None);
        assert_eq!(key_in_block(TEXT, place(4, 7), "steps"), None);
    }

    #[test]
    fn flow_key_found_on_its_line() {
        assert_eq!(
            key_in_block(TEXT, place(7, 16), "initial_backoff"),
            Some(place(7, 33))
        );
        assert_eq!(key_in_block(TEXT, place(7, 16), "max_backoff"), None);
    }

    #[test]
    fn key_before_a_value() {
        assert_eq!(key_at(TEXT, place(6, 13)).as_deref(), Some("fuel"));
        assert_eq!(
            key_at(TEXT, place(7, 50)).as_deref(),
            Some("initial_backoff")
        );
    }

    #[test]
    fn key_at_the_place_itself() {
        assert_eq!(key_at(TEXT, place(4, 7)).as_deref(), Some("max_memory"));
        assert_eq!(key_at(TEXT, place(5, 9)), None);
    }

    #[test]
    fn value_ends_at_separators() {
        assert_eq!(value_at(TEXT, place(7, 30)).as_deref(), Some("0"));
        assert_eq!(value_at(TEXT, place(4, 19)).as_deref(), Some("64 MiB"));
    }

    #[test]
    fn value_found_after_its_key() {
        assert_eq!(value_at(TEXT, place(4, 7)).as_deref(), Some("64 MiB"));
        assert_eq!(value_at(TEXT, place(6, 7)).as_deref(), Some("0"));
    }
}
