"""Structured logging into Weir's log, tagged with the pipeline, step and offset.

Weir keeps at most 100 lines per second per instance from this log and the standard
streams together, and counts the rest in a warning.
"""

import sys

from wit_world.imports import log as _log

_IN_COMPONENT = sys.platform == "wasi"


def trace(message: str) -> None:
    _write(_log.Level.TRACE, message)


def debug(message: str) -> None:
    _write(_log.Level.DEBUG, message)


def info(message: str) -> None:
    _write(_log.Level.INFO, message)


def warn(message: str) -> None:
    _write(_log.Level.WARN, message)


def error(message: str) -> None:
    _write(_log.Level.ERROR, message)


def _write(level: "_log.Level", message: str) -> None:
    if _IN_COMPONENT:
        _log.log(level, message)
    else:
        # Outside a component, as in a plugin's unit tests on CPython, the generated
        # bindings are stubs, so the message goes to standard error instead.
        print(f"[{level.name}] {message}", file=sys.stderr)
