use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Lines a plugin instance may emit per second, through the log import and its standard
/// streams together; the rest are counted and reported.
const LINES_PER_SECOND: u32 = 100;

/// Maximum length of a line kept from a standard stream; a longer one is cut there, so a plugin that never
/// writes a newline cannot grow the buffer without bound.
const MAX_LINE_BYTES: usize = 4096;

/// Location of a plugin instance (pipeline, step, partition, offset), attached to every line it
/// logs.
#[derive(Debug, Clone)]
pub struct LogContext {
    pub pipeline: Arc<str>,
    pub step: Arc<str>,
    /// Short digest of the plugin version.
    pub plugin: Arc<str>,
    /// Partition whose events the instance processes, when it serves one.
    pub partition: Option<u32>,
    /// Offset of the first event of the batch being processed.
    pub offset: Option<i64>,
}

/// Level of a guest line, from the log import or implied by the stream it was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuestLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// The source of a guest line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuestSource {
    Log,
    Stdout,
    Stderr,
}

impl GuestSource {
    fn as_str(self) -> &'static str {
        match self {
            GuestSource::Log => "log",
            GuestSource::Stdout => "stdout",
            GuestSource::Stderr => "stderr",
        }
    }
}

/// Everything one plugin instance logs or writes, turned into `tracing` events with its context.
///
/// Cloning shares the state, so the log import and both standard streams count against one
/// rate limit and see the same offset.
#[derive(Clone)]
pub(crate) struct GuestLog {
    state: Arc<Mutex<GuestLogState>>,
}

struct GuestLogState {
    context: LogContext,
    window: RateWindow,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl GuestLog {
    pub(crate) fn new(context: LogContext) -> Self {
        Self {
            state: Arc::new(Mutex::new(GuestLogState {
                context,
                window: RateWindow::default(),
                stdout: Vec::new(),
                stderr: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GuestLogState> {
        crate::sync::lock(&self.state)
    }

    /// Records the offset of the batch about to be processed.
    pub(crate) fn set_offset(&self, offset: Option<i64>) {
        self.lock().context.offset = offset;
    }

    /// Emits one line from the log import.
    pub(crate) fn line(&self, level: GuestLevel, message: &str) {
        self.lock().emit(GuestSource::Log, level, message);
    }

    /// Emits what is left of unfinished stream lines, so that a call's output is logged with
    /// that call's offset.
    pub(crate) fn flush(&self) {
        let mut state = self.lock();
        for source in [GuestSource::Stdout, GuestSource::Stderr] {
            let pending = std::mem::take(state.buffer(source));
            if !pending.is_empty() {
                state.emit_bytes(source, &pending);
            }
        }
    }

    /// Returns a WASI output stream whose lines reach this log.
    pub(crate) fn stream(&self, source: GuestSource) -> GuestStream {
        GuestStream {
            log: self.clone(),
            source,
        }
    }

    fn write(&self, source: GuestSource, bytes: &[u8]) {
        let mut state = self.lock();
        let mut rest = bytes;
        while !rest.is_empty() {
            let buffer = state.buffer(source);
            let room = MAX_LINE_BYTES - buffer.len();
            let (line_end, next) = match rest.iter().position(|&byte| byte == b'\n') {
                Some(newline) if newline <= room => (Some(newline), newline + 1),
                _ if rest.len() >= room => (Some(room), room),
                _ => (None, rest.len()),
            };
            match line_end {
                Some(end) => {
                    buffer.extend_from_slice(&rest[..end]);
                    let line = std::mem::take(buffer);
                    state.emit_bytes(source, &line);
                }
                None => buffer.extend_from_slice(rest),
            }
            rest = &rest[next..];
        }
    }
}

impl GuestLogState {
    fn buffer(&mut self, source: GuestSource) -> &mut Vec<u8> {
        match source {
            GuestSource::Stderr => &mut self.stderr,
            GuestSource::Stdout | GuestSource::Log => &mut self.stdout,
        }
    }

    fn emit_bytes(&mut self, source: GuestSource, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let level = match source {
            GuestSource::Stderr => GuestLevel::Warn,
            GuestSource::Stdout | GuestSource::Log => GuestLevel::Info,
        };
        self.emit(source, level, text);
    }

    fn emit(&mut self, source: GuestSource, level: GuestLevel, message: &str) {
        if !self.window.admit(&self.context) {
            return;
        }

        // A line cannot be tied to one event of a batch call, so it carries the offset of the
        // batch's first event.
        let LogContext {
            pipeline,
            step,
            plugin,
            partition,
            offset,
        } = &self.context;
        let (partition, offset) = (*partition, *offset);
        let pipeline = pipeline.as_ref();
        let step = step.as_ref();
        let plugin = plugin.as_ref();
        let source = source.as_str();
        match level {
            GuestLevel::Trace => {
                tracing::trace!(target: "weir::guest", pipeline, step, plugin, partition, batch_first_offset = offset, source, "{message}")
            }
            GuestLevel::Debug => {
                tracing::debug!(target: "weir::guest", pipeline, step, plugin, partition, batch_first_offset = offset, source, "{message}")
            }
            GuestLevel::Info => {
                tracing::info!(target: "weir::guest", pipeline, step, plugin, partition, batch_first_offset = offset, source, "{message}")
            }
            GuestLevel::Warn => {
                tracing::warn!(target: "weir::guest", pipeline, step, plugin, partition, batch_first_offset = offset, source, "{message}")
            }
            GuestLevel::Error => {
                tracing::error!(target: "weir::guest", pipeline, step, plugin, partition, batch_first_offset = offset, source, "{message}")
            }
        }
    }
}

/// A one-second window that admits [`LINES_PER_SECOND`] lines and counts the rest.
#[derive(Default)]
struct RateWindow {
    started: Option<Instant>,
    admitted: u32,
    suppressed: u64,
}

impl RateWindow {
    fn admit(&mut self, context: &LogContext) -> bool {
        let now = Instant::now();
        let expired = self
            .started
            .is_none_or(|started| now.duration_since(started) >= Duration::from_secs(1));
        if expired {
            if self.suppressed > 0 {
                tracing::warn!(
                    target: "weir::guest",
                    pipeline = %context.pipeline,
                    step = %context.step,
                    plugin = %context.plugin,
                    partition = ?context.partition,
                    suppressed = self.suppressed,
                    "plugin wrote more than {LINES_PER_SECOND} log lines per second; lines were dropped"
                );
            }
            self.started = Some(now);
            self.admitted = 0;
            self.suppressed = 0;
        }

        if self.admitted < LINES_PER_SECOND {
            self.admitted += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

/// The guest's stdout or stderr: a WASI output stream that is always ready and never blocks,
/// because every write goes into the line buffer of a [`GuestLog`].
pub(crate) struct GuestStream {
    log: GuestLog,
    source: GuestSource,
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.log.stream(self.source))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(AsyncGuestStream(self.log.stream(self.source)))
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.log.write(self.source, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

/// The same stream for WASI interfaces that write through `AsyncWrite`.
struct AsyncGuestStream(GuestStream);

impl tokio::io::AsyncWrite for AsyncGuestStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.log.write(self.0.source, bytes);
        std::task::Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> GuestLog {
        GuestLog::new(LogContext {
            pipeline: "p".into(),
            step: "s".into(),
            plugin: "abc".into(),
            partition: Some(0),
            offset: None,
        })
    }

    #[test]
    fn partial_lines_wait_for_newline_or_flush() {
        let log = log();
        log.write(GuestSource::Stdout, b"hello ");
        assert_eq!(log.lock().stdout, b"hello ");

        log.write(GuestSource::Stdout, b"world\nnext");
        assert_eq!(log.lock().stdout, b"next");

        log.flush();
        assert!(log.lock().stdout.is_empty());
    }

    #[test]
    fn endless_line_is_cut() {
        let log = log();
        log.write(GuestSource::Stderr, &vec![b'x'; MAX_LINE_BYTES * 3 + 10]);
        assert_eq!(log.lock().stderr.len(), 10);
    }

    #[test]
    fn window_admits_a_bounded_number_of_lines() {
        let log = log();
        for _ in 0..LINES_PER_SECOND + 50 {
            log.line(GuestLevel::Info, "line");
        }
        let state = log.lock();
        assert_eq!(state.window.admitted, LINES_PER_SECOND);
        assert_eq!(state.window.suppressed, 50);
    }
}
