"""Unit tests of the {{name}} plugin, run on CPython by `bash {{sdk}}/python/test.sh .`."""

import unittest

import app
from weir_plugin import Event, Header


def event(value: bytes | None) -> Event:
    return Event(
        topic="orders",
        partition=0,
        offset=7,
        timestamp_ms=None,
        key=b"ord-1",
        value=value,
        headers=[Header(name="source", value=b"shop")],
    )


class PassThroughTest(unittest.TestCase):
    def test_event_passes_unchanged(self):
        [output] = app.process(event(b'{"type": "OrderPlaced"}'))

        self.assertEqual(output.key, b"ord-1")
        self.assertEqual(output.value, b'{"type": "OrderPlaced"}')
        self.assertEqual([(h.name, h.value) for h in output.headers], [("source", b"shop")])
        self.assertIsNone(output.topic)

    def test_tombstone_stays_a_tombstone(self):
        [output] = app.process(event(None))

        self.assertIsNone(output.value)

    def test_unknown_config_key_fails_init(self):
        with self.assertRaises(ValueError):
            app.init({"mask": "x"})


if __name__ == "__main__":
    unittest.main()
