package weirplugin

// Level is the severity of a log message.
type Level uint8

// The levels of the host's log, in increasing severity.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// String returns the level's name in lower case.
func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	default:
		return "unknown"
	}
}

// Log writes message to the host's log, which tags it with the pipeline, the step and the
// offset of the event being processed. Outside WebAssembly, such as in unit tests, it
// writes to standard error instead, because no host is present.
func Log(level Level, message string) {
	writeLog(level, message)
}

// LogTrace logs message at trace level.
func LogTrace(message string) { writeLog(LevelTrace, message) }

// LogDebug logs message at debug level.
func LogDebug(message string) { writeLog(LevelDebug, message) }

// LogInfo logs message at info level.
func LogInfo(message string) { writeLog(LevelInfo, message) }

// LogWarn logs message at warn level.
func LogWarn(message string) { writeLog(LevelWarn, message) }

// LogError logs message at error level.
func LogError(message string) { writeLog(LevelError, message) }
