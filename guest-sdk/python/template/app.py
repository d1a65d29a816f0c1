"""The Weir plugin {{name}}: passes every event on unchanged."""

import weir_plugin
from weir_plugin import Event, Output


def init(config: dict[str, str]) -> None:
    # Fail the load on keys this plugin does not read, so a typo in the pipeline file fails the load.
    if config:
        raise ValueError(f"unknown config keys {sorted(config)}: this plugin takes no config")


def process(event: Event) -> list[Output]:
    return [weir_plugin.output_from(event)]


Handler = weir_plugin.export(init, process)
