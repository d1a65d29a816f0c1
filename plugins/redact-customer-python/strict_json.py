"""JSON parsing and serialisation that follow serde_json 1.x, which the Rust plugin uses.

Python's `json` module is more lenient than serde_json without its optional features,
and a value that one accepts and the other rejects would be redacted by one port and
dead-lettered by the other. So `loads` also rejects, with `ValueError`:

- bytes that are not UTF-8, because `json.loads` would also accept UTF-16 and UTF-32;
- `NaN`, `Infinity` and `-Infinity`, and numbers too large for a double, such as `1e400`;
- `\\u` escapes of unpaired UTF-16 surrogates, such as `"\\ud800"`;
- arrays and objects nested deeper than 127 levels, serde_json's recursion limit.

It also reads numbers as serde_json does: an integer outside the range of i64 and u64
becomes a float, and so does `-0`.
"""

import json
import math
import re

MAX_DEPTH = 127

_I64_MIN = -(2**63)
_U64_MAX = 2**64 - 1
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text} is out of range")
    return number


def _parse_int(text: str):
    if text == "-0":
        return -0.0
    # Parsing a long digit string as int is quadratic, and Python caps it at 4300 digits,
    # so only short ones become ints. Anything past 20 digits is outside u64 anyway.
    if len(text) <= 21:
        number = int(text)
        if _I64_MIN <= number <= _U64_MAX:
            return number
    return _parse_float(text)


_DECODER = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)


def loads(data: bytes):
    """Parse a JSON document from UTF-8 bytes. Raise `ValueError` when it is invalid."""
    text = data.decode("utf-8")
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting_depth(text) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")

    document = _DECODER.decode(text)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(document):
        raise ValueError("string contains an unpaired UTF-16 surrogate")
    return document


def dumps(document) -> bytes:
    """Serialise a document as compact UTF-8 JSON, as serde_json::to_vec does."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _nesting_depth(text: str) -> int:
    """Return the deepest nesting of arrays and objects, ignoring brackets in strings."""
    depth = 0
    max_depth = 0
    for character in _STRING_LITERAL.sub('""', text):
        if character in "[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif character in "]}":
            depth -= 1
    return max_depth


def _has_lone_surrogate(value) -> bool:
    # json.loads joins valid surrogate pairs into one character, so any surrogate left
    # in a string came from an unpaired escape.
    if isinstance(value, str):
        return _SURROGATES.search(value) is not None
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items()
        )
    return False
