"""Python SDK for writing Weir plugins.

A Weir plugin is a WebAssembly component that implements the world `plugin` of the
package `weir:plugin@0.1.0` (see `guest-sdk/wit/plugin.wit`). componentize-py builds the
component from a module that defines a class named `Handler`, which implements the
exported interface `handler`. This package builds that class from two plain functions::

    import weir_plugin
    from weir_plugin import Event, Output, Reject

    def init(config: dict[str, str]) -> None:
        if config:
            raise ValueError(f"unknown config keys {sorted(config)}")

    def process(event: Event) -> list[Output]:
        if event.value is None:
            raise Reject("tombstones are not accepted")
        return [weir_plugin.output_from(event, topic="audit")]

    Handler = weir_plugin.export(init, process)

`init` runs once per component instance. `process` runs once per event, in offset
order, and returns the event's outputs: an empty list filters the event out, several
outputs fan it out. Raise `Retry` for a transient fault and `Reject` for a poison event.
"""

from typing import Callable, Iterable, List, Optional, Union

from componentize_py_types import Err, Ok
from wit_world.exports import handler as _handler

from weir_plugin import log

__all__ = [
    "Event",
    "Header",
    "Output",
    "Reject",
    "Retry",
    "export",
    "log",
    "output_from",
]

Event = _handler.Event
"""One event read from a source partition. A tombstone has `value` None."""

Header = _handler.Header
"""A record header. Kafka allows a header without a value, so `value` may be None."""

Output = _handler.Output
"""One event produced by a plugin. `topic` None sends it to the step's default target."""

NOT_INITIALISED = "plugin not initialised"
"""The reason given for every event processed before a successful `init`."""


class Retry(Exception):
    """A transient fault: Weir retries the event under the pipeline's failure policy."""


class Reject(Exception):
    """A poison event: Weir sends it to the dead-letter topic, or pauses the partition."""


_UNCHANGED = object()


def output_from(
    event: Event,
    *,
    topic: Optional[str] = None,
    key: Union[bytes, str, None, object] = _UNCHANGED,
    value: Union[bytes, str, None, object] = _UNCHANGED,
    headers: Union[List[Header], object] = _UNCHANGED,
) -> Output:
    """Build an output that copies the key, value and headers of `event`.

    With no arguments the output is the event passed through to the step's default
    target. Each keyword replaces one field: a `str` key or value is encoded as UTF-8, and
    `value=None` makes a tombstone.
    """
    return Output(
        topic=topic,
        key=event.key if key is _UNCHANGED else _to_bytes(key),
        value=event.value if value is _UNCHANGED else _to_bytes(value),
        headers=list(event.headers) if headers is _UNCHANGED else list(headers),
    )


def _to_bytes(data: Union[bytes, str, None]) -> Optional[bytes]:
    if isinstance(data, str):
        return data.encode("utf-8")
    if data is None or isinstance(data, bytes):
        return data
    # The generated bindings type `list<u8>` as `bytes`, so convert other buffers here.
    return bytes(data)


InitFunction = Callable[[dict], None]
ProcessFunction = Callable[[Event], Iterable[Output]]


def export(init: InitFunction, process: ProcessFunction) -> type:
    """Return the class that componentize-py exports as the interface `handler`.

    Assign the result to the module-level name `Handler` in the module that
    `build.sh` compiles (`app.py`).

    - `init` receives the step's config as a `dict` of strings. When the host sends a
      key more than once, the last value wins. An exception fails the load or the swap:
      the message of a `ValueError` is the reason the host reports, and any other
      exception is reported with its type name.
    - `process` receives one event and returns its outputs. Before a successful `init`,
      every event fails with `Reject("plugin not initialised")`. Any exception other than
      `Retry` and `Reject` traps the instance, as a panic does in a Rust plugin.
      componentize-py writes the traceback to standard error, which Weir logs at warn
      level. Weir then retries the event on a fresh instance under the pipeline's
      failure policy, with the error kind `trap`.
    """

    class Handler:
        _initialised = False

        def init(self, config: List[_handler.ConfigEntry]) -> None:
            entries = {entry.key: entry.value for entry in config}
            try:
                init(entries)
            except ValueError as error:
                raise Err(str(error)) from None
            except Exception as error:
                raise Err(f"{type(error).__name__}: {error}") from None
            Handler._initialised = True

        def process(self, events: List[Event]) -> list:
            if not Handler._initialised:
                return [Err(_handler.Failure_Reject(NOT_INITIALISED)) for _ in events]
            return [_process_one(process, event) for event in events]

    return Handler


def _process_one(process: ProcessFunction, event: Event):
    try:
        outputs = process(event)
        if outputs is None:
            raise TypeError(
                "process returned None; return a list of outputs, or [] to filter the event out"
            )
        return Ok(list(outputs))
    except Retry as failure:
        return Err(_handler.Failure_Retry(str(failure)))
    except Reject as failure:
        return Err(_handler.Failure_Reject(str(failure)))
