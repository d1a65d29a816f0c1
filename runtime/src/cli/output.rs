//! Standard output for command results. A reader that closes the pipe early, as `| head`
//! does, has what it wanted, so that is not an error and never a panic.

use std::io::{ErrorKind, StdoutLock, Write};

/// Standard output that drops everything written after the reader closed the pipe.
pub struct Stdout {
    inner: StdoutLock<'static>,
    closed: bool,
}

/// Locks standard output for a command's results.
pub fn stdout() -> Stdout {
    Stdout {
        inner: std::io::stdout().lock(),
        closed: false,
    }
}

impl Stdout {
    /// Returns whether the reader has closed the pipe, so that a command can stop producing
    /// output that no reader takes.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Turns a closed-pipe error into success with `dropped`, and remembers that the pipe is
    /// closed.
    fn absorb_closed_pipe<T>(
        &mut self,
        result: std::io::Result<T>,
        dropped: T,
    ) -> std::io::Result<T> {
        match result {
            Err(error) if error.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(dropped)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.absorb_closed_pipe(result, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.absorb_closed_pipe(result, ())
    }
}

/// Writes one line to standard output, for `outln!`. Any write error other than a closed
/// pipe is reported on standard error, because the command's work matters more than its
/// report.
pub fn write_line(line: std::fmt::Arguments<'_>) {
    if let Err(error) = writeln!(stdout(), "{line}") {
        eprintln!("warning: cannot write to standard output: {error}");
    }
}

/// Returns `1 record` or `2 records`.
pub fn count(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_pipe_counts_as_written() {
        let mut out = stdout();
        let closed = std::io::Error::from(ErrorKind::BrokenPipe);

        assert_eq!(out.absorb_closed_pipe(Err(closed), 5).unwrap(), 5);
        assert!(out.closed);
        assert_eq!(out.write(b"dropped").unwrap(), 7);
    }

    #[test]
    fn other_errors_pass_through() {
        let mut out = stdout();
        let denied = std::io::Error::from(ErrorKind::PermissionDenied);

        let error = out.absorb_closed_pipe(Err(denied), 5).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert!(!out.closed);
    }
}
