"""Weir plugin that redacts customer and card data and converts amounts to minor units.

A port of the Rust plugin `plugins/redact-customer` with the same behaviour. For an
event whose value is a JSON object (see `docs/order-events.md`):

- `customer.email` and `payment.card_expiry` are replaced by the mask.
- `payment.card_number` is replaced by the mask, a hyphen and the last four digits of the
  number, such as `REDACTED-1111`. A card number that is not a string of digits, spaces
  and hyphens with at least four digits fails with `Reject`.
- The decimal strings `total`, `amount` and each line's `unit_price` are replaced by the
  integers `total_minor`, `amount_minor` and `unit_price_minor`, in minor units of the
  event's `currency`: JPY has no minor unit and EUR, USD and GBP have two decimal places.
  A missing or unsupported currency, a value that is not a decimal string, or a decimal
  with more fraction digits than the currency allows fails with `Reject`, and the reason
  names the field.

When a field is absent, it is left alone, so tombstones, valid JSON that is not an
object, and events without these fields pass through unchanged. Otherwise the output is
the re-serialised JSON with the same key and headers, and no topic. A value that is not
valid JSON fails with `Reject`, because passing it on would forward data this step could
not redact.

Config: `mask` (optional, default `REDACTED`) is the replacement text. Any other key
fails `init` with a message naming the key.
"""

import weir_plugin
from weir_plugin import Event, Output, Reject

import strict_json

DEFAULT_MASK = "REDACTED"

# ISO 4217 decimal places of the minor unit of each supported currency.
CURRENCY_EXPONENTS = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0}

# Minor-unit amounts must fit an i64, as in the Rust plugin.
MAX_MINOR_UNITS = 2**63 - 1

ASCII_DIGITS = frozenset("0123456789")
CARD_NUMBER_CHARACTERS = frozenset("0123456789 -")

mask = DEFAULT_MASK


def init(config: dict[str, str]) -> None:
    global mask
    for key in sorted(config):
        if key != "mask":
            raise ValueError(f"unknown config key `{key}`: redact-customer accepts only `mask`")
    mask = config.get("mask", DEFAULT_MASK)


def process(event: Event) -> list[Output]:
    if event.value is None:
        return [weir_plugin.output_from(event)]

    try:
        document = strict_json.loads(event.value)
    except ValueError:
        raise Reject("value is not valid JSON") from None
    if not isinstance(document, dict):
        return [weir_plugin.output_from(event)]

    try:
        redacted = redact(document)
        converted = convert_amounts(document)
    except ValueError as error:
        raise Reject(str(error)) from None
    if not redacted and not converted:
        return [weir_plugin.output_from(event)]

    return [weir_plugin.output_from(event, value=strict_json.dumps(document))]



def redact(fields: dict) -> bool:
    """Mask the customer email and the card fields. Return whether any field changed."""
    changed = False

    customer = fields.get("customer")
    if isinstance(customer, dict) and "email" in customer:
        customer["email"] = mask
        changed = True

    payment = fields.get("payment")
    if not isinstance(payment, dict):
        return changed
    if "card_number" in payment:
        payment["card_number"] = f"{mask}-{last_four_digits(payment['card_number'])}"
        changed = True
    if "card_expiry" in payment:
        payment["card_expiry"] = mask
        changed = True

    return changed


def last_four_digits(card_number: object) -> str:
    invalid = "`payment.card_number` is not a card number"
    if not isinstance(card_number, str) or not CARD_NUMBER_CHARACTERS.issuperset(card_number):
        raise ValueError(invalid)

    digits = [c for c in card_number if c in ASCII_DIGITS]
    if len(digits) < 4:
        raise ValueError(invalid)
    return "".join(digits[-4:])


def convert_amounts(fields: dict) -> bool:
    """Replace `total`, `amount` and each line's `unit_price` with minor-unit integers.

    Return whether any field changed. On error, `fields` may be partly converted.
    """
    if not has_amounts(fields):
        return False
    exponent = currency_exponent(fields)

    for name in ("total", "amount"):
        if name in fields:
            decimal = fields.pop(name)
            fields[f"{name}_minor"] = to_minor_units(decimal, exponent, f"`{name}`")

    lines = fields.get("lines")
    if isinstance(lines, list):
        for index, line in enumerate(lines):
            if isinstance(line, dict) and "unit_price" in line:
                decimal = line.pop("unit_price")
                field = f"`lines[{index}].unit_price`"
                line["unit_price_minor"] = to_minor_units(decimal, exponent, field)

    return True


def has_amounts(fields: dict) -> bool:
    lines = fields.get("lines")
    lines_have_prices = isinstance(lines, list) and any(
        isinstance(line, dict) and "unit_price" in line for line in lines
    )
    return "total" in fields or "amount" in fields or lines_have_prices


def currency_exponent(fields: dict) -> int:
    """Return the number of decimal places of the currency's minor unit (ISO 4217)."""
    if "currency" not in fields:
        raise ValueError("`currency` is missing, so amounts cannot be converted")
    code = fields["currency"]
    if not isinstance(code, str):
        raise ValueError("`currency` is not a string")
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"currency `{code}` is not supported; expected EUR, USD, GBP or JPY")
    return CURRENCY_EXPONENTS[code]


def to_minor_units(decimal: object, exponent: int, field: str) -> int:
    """Convert a decimal string such as `"129.90"` to an integer count of minor units.

    `field` names the value in the error message, such as `` `total` ``.
    """
    not_decimal = f"{field} is not a decimal string"
    if not isinstance(decimal, str):
        raise ValueError(not_decimal)

    negative = decimal.startswith("-")
    unsigned = decimal[1:] if negative else decimal
    whole, has_point, fraction = unsigned.partition(".")

    # str.isdigit also accepts non-ASCII digits, which the Rust plugin rejects.
    if (
        not whole
        or not ASCII_DIGITS.issuperset(whole)
        or not ASCII_DIGITS.issuperset(fraction)
        or (has_point and not fraction)
    ):
        raise ValueError(not_decimal)
    if len(fraction) > exponent:
        raise ValueError(
            f"{field} has {len(fraction)} fraction digits but the currency allows {exponent}"
        )

    digits = (whole + fraction.ljust(exponent, "0")).lstrip("0") or "0"
    # The length check keeps int() away from Python's 4300-digit limit on huge input.
    if len(digits) > len(str(MAX_MINOR_UNITS)) or int(digits) > MAX_MINOR_UNITS:
        raise ValueError(f"{field} is out of range for minor units")
    magnitude = int(digits)
    return -magnitude if negative else magnitude


Handler = weir_plugin.export(init, process)
