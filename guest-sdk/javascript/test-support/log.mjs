// Stub of the host's log import `weir:plugin/log@0.1.0` for unit tests on Node.js. It
// records each call in `logRecords` instead of writing anywhere, so a test can assert on
// what a plugin logged:
//
//     import { clearLogRecords, logRecords } from "weir:plugin/log@0.1.0";

/** The levels of the WIT enum `level`, as the ComponentizeJS bindings pass them. */
export const LEVELS = ["trace", "debug", "info", "warn", "error"];

/** The calls to `log` since the last `clearLogRecords`, in order, as `{level, message}`. */
export const logRecords = [];

/**
 * Records one log call. Throws a TypeError for a level outside the WIT enum or a message
 * that is not a string, because the component could not pass such a call to the host.
 */
export function log(level, message) {
  if (!LEVELS.includes(level)) {
    throw new TypeError(`invalid log level ${JSON.stringify(level)}; expected one of ${LEVELS.join(", ")}`);
  }
  if (typeof message !== "string") {
    throw new TypeError(`log message must be a string, not ${typeof message}`);
  }
  logRecords.push({ level, message });
}

/** Empties `logRecords`, for example before each test. */
export function clearLogRecords() {
  logRecords.length = 0;
}
