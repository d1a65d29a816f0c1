// JSON parsing and serialisation that accept and produce the same values as serde_json, the
// parser of the Rust redact-customer plugin.
//
// JSON.parse and JSON.stringify differ from serde_json in a few cases. Integers beyond 2^53
// lose precision, a float with an integral value such as `2.0` comes back as the integer
// `2`, and `-0` comes back as `0`. Out-of-range numbers such as `1e400` become Infinity,
// lone UTF-16 surrogate escapes are accepted, and nesting has no depth limit.
// parseJson scans the text for these cases first and only then falls back to a slower
// parser that keeps such numbers as text that serde_json reads as the same number, and
// rejects what serde_json rejects.

/** A JSON number kept as text, because a JavaScript number would change its value or type. */
export class JsonNumber {
  constructor(text) {
    this.text = text;
    Object.freeze(this);
  }
}

/** Returns whether `value` is a parsed JSON object, so not null, an array or a JsonNumber. */
export function isJsonObject(value) {
  return (
    value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof JsonNumber)
  );
}

// serde_json's default recursion limit: an array or object nested 128 levels deep is an
// error, 127 levels parse.
const MAX_DEPTH = 128;

// Strings, numbers and brackets outside strings. Valid JSON strings never contain a raw
// line break, so `.` is never needed to cross one.
const SCAN_TOKEN = /"(?:[^"\\]|\\[\s\S])*"|-?[0-9][0-9.eE+-]*|[[{]|[\]}]/g;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

// serde_json keeps integers from i64::MIN to u64::MAX exact and parses any other integer as
// an f64.
const MIN_EXACT_INTEGER = -(2n ** 63n);
const MAX_EXACT_INTEGER = 2n ** 64n - 1n;

/** Returns whether JSON.parse followed by JSON.stringify would change a number token. */
function numberChanges(token) {
  const value = Number(token);
  if (!Number.isFinite(value) || (value === 0 && token.startsWith("-"))) {
    return true;
  }
  if (/[.eE]/.test(token)) {
    return Number.isInteger(value);
  }
  return !Number.isSafeInteger(value);
}

/**
 * Returns the text that serde_json would write for a number token whose value
 * numberChanges reports as changed, written so that serde_json parses it back to the same
 * number: an integer token outside the exact range, and `-0`, become floats.
 */
function serdeNumberText(token) {
  if (/[.eE]/.test(token)) {
    return token;
  }
  if (token === "-0") {
    return "-0.0";
  }
  const integer = BigInt(token);
  if (integer >= MIN_EXACT_INTEGER && integer <= MAX_EXACT_INTEGER) {
    return token;
  }
  // A float written without a fraction or exponent would read as an integer.
  const text = String(Number(token));
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** Returns whether `text` contains anything that JSON.parse reads differently from serde_json. */
function needsExactParse(text) {
  SCAN_TOKEN.lastIndex = 0;
  let depth = 0;
  let match;
  while ((match = SCAN_TOKEN.exec(text)) !== null) {
    const token = match[0];
    const first = token[0];
    if (first === '"') {
      if (token.includes("\\u") && SURROGATE_ESCAPE.test(token)) {
        return true;
      }
    } else if (first === "[" || first === "{") {
      depth += 1;
      if (depth >= MAX_DEPTH) {
        return true;
      }
    } else if (first === "]" || first === "}") {
      depth -= 1;
    } else if (numberChanges(token)) {
      return true;
    }
  }
  return false;
}

/**
 * Parses JSON text. Returns `{ value, exact }`, where `exact` is true when `value` may
 * contain JsonNumber objects, so stringifyJson must not use JSON.stringify on it. Throws
 * a SyntaxError when serde_json would reject the text.
 */
export function parseJson(text) {
  if (!needsExactParse(text)) {
    return { value: JSON.parse(text), exact: false };
  }
  const parser = new ExactParser(text);
  return { value: parser.parseDocument(), exact: true };
}

/** Serialises a document from parseJson, writing each JsonNumber as its text. */
export function stringifyJson(document) {
  return document.exact ? stringifyExact(document.value) : JSON.stringify(document.value);
}

function stringifyExact(value) {
  if (value instanceof JsonNumber) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return `[${value.map(stringifyExact).join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const members = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stringifyExact(value[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

const WHITESPACE = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /true|false|null/y;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A recursive-descent JSON parser that keeps numbers as JsonNumber objects. */
class ExactParser {
  constructor(text) {
    this.text = text;
    this.position = 0;
  }

  parseDocument() {
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.position !== this.text.length) {
      this.fail("trailing characters");
    }
    return value;
  }

  fail(problem) {
    throw new SyntaxError(`invalid JSON at character ${this.position}: ${problem}`);
  }

  skipWhitespace() {
    WHITESPACE.lastIndex = this.position;
    WHITESPACE.exec(this.text);
    this.position = WHITESPACE.lastIndex;
  }

  match(pattern) {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.text);
    if (found === null) {
      return null;
    }
    this.position = pattern.lastIndex;
    return found[0];
  }

  expect(character) {
    this.skipWhitespace();
    if (this.text[this.position] !== character) {
      this.fail(`expected \`${character}\``);
    }
    this.position += 1;
  }

  parseValue(depth) {
    this.skipWhitespace();
    const first = this.text[this.position];
    if (first === "{" || first === "[") {
      if (depth + 1 >= MAX_DEPTH) {
        this.fail("recursion limit exceeded");
      }
      return first === "{" ? this.parseObject(depth + 1) : this.parseArray(depth + 1);
    }
    if (first === '"') {
      return this.parseString();
    }
    if (first === "-" || (first >= "0" && first <= "9")) {
      return this.parseNumber();
    }
    const literal = this.match(LITERAL);
    if (literal === null) {
      this.fail("expected a value");
    }
    return literal === "null" ? null : literal === "true";
  }

  parseString() {
    const token = this.match(STRING);
    if (token === null) {
      this.fail("invalid string");
    }
    const value = JSON.parse(token);
    if (LONE_SURROGATE.test(value)) {
      this.fail("lone surrogate in a \\u escape");
    }
    return value;
  }

  parseNumber() {
    const token = this.match(NUMBER);
    if (token === null) {
      this.fail("invalid number");
    }
    if (!Number.isFinite(Number(token))) {
      this.fail("number out of range");
    }
    return numberChanges(token) ? new JsonNumber(serdeNumberText(token)) : Number(token);
  }

  parseArray(depth) {
    this.position += 1;
    const items = [];
    this.skipWhitespace();
    if (this.text[this.position] === "]") {
      this.position += 1;
      return items;
    }
    for (;;) {
      items.push(this.parseValue(depth));
      this.skipWhitespace();
      const separator = this.text[this.position];
      this.position += 1;
      if (separator === "]") {
        return items;
      }
      if (separator !== ",") {
        this.position -= 1;
        this.fail("expected `,` or `]`");
      }
    }
  }

  parseObject(depth) {
    this.position += 1;
    const members = {};
    this.skipWhitespace();
    if (this.text[this.position] === "}") {
      this.position += 1;
      return members;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] !== '"') {
        this.fail("expected a string key");
      }
      const key = this.parseString();
      this.expect(":");
      // defineProperty stores a key named `__proto__` as data, as JSON.parse does, where
      // an assignment would change the object's prototype.
      Object.defineProperty(members, key, {
        value: this.parseValue(depth),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      this.skipWhitespace();
      const separator = this.text[this.position];
      this.position += 1;
      if (separator === "}") {
        return members;
      }
      if (separator !== ",") {
        this.position -= 1;
        this.fail("expected `,` or `}`");
      }
    }
  }
}
