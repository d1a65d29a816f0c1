"""Unit tests of the redact-customer plugin, ported from the Rust plugin's tests.

Run them on CPython with `bash guest-sdk/python/test.sh plugins/redact-customer-python`.
"""

import copy
import json
import unittest

import app
import strict_json
import weir_plugin
from weir_plugin import Event, Header, Reject

ORDER_PLACED = {
    "type": "OrderPlaced",
    "order_id": "ord-00000042",
    "customer": {"id": "cus-00017", "email": "anna.berg@example.com", "name": "Anna Berg"},
    "payment": {"method": "card", "card_number": "4111111111111111", "card_expiry": "08/27"},
    "currency": "EUR",
    "total": "129.90",
    "lines": [
        {"sku": "MUG-350", "quantity": 2, "unit_price": "12.5"},
        {"sku": "TEE-M", "quantity": 1, "unit_price": "104.90"},
    ],
}


def order_placed() -> dict:
    return copy.deepcopy(ORDER_PLACED)


def event(value) -> Event:
    return Event(
        topic="orders",
        partition=0,
        offset=12,
        timestamp_ms=None,
        key=b"ord-00000042",
        value=value,
        headers=[Header(name="source", value=b"shop")],
    )


def json_event(document) -> Event:
    return event(json.dumps(document).encode())


class RedactCustomerTest(unittest.TestCase):
    def setUp(self):
        app.init({})

    def redact_value(self, document) -> dict:
        outputs = app.process(json_event(document))
        self.assertEqual(len(outputs), 1)
        return json.loads(outputs[0].value)

    def reject_reason(self, document) -> str:
        with self.assertRaises(Reject) as failure:
            app.process(json_event(document))
        return str(failure.exception)

    def test_order_placed_is_redacted(self):
        output = self.redact_value(order_placed())

        self.assertEqual(output["customer"]["email"], "REDACTED")
        self.assertEqual(output["customer"]["name"], "Anna Berg")
        self.assertEqual(output["payment"]["card_number"], "REDACTED-1111")
        self.assertEqual(output["payment"]["card_expiry"], "REDACTED")
        self.assertEqual(output["payment"]["method"], "card")

    def test_order_placed_amounts_convert(self):
        output = self.redact_value(order_placed())

        self.assertEqual(output["total_minor"], 12990)
        self.assertNotIn("total", output)
        self.assertEqual(output["lines"][0]["unit_price_minor"], 1250)
        self.assertEqual(output["lines"][1]["unit_price_minor"], 10490)
        self.assertNotIn("unit_price", output["lines"][0])
        self.assertEqual(output["lines"][0]["sku"], "MUG-350")

    def test_payment_captured_is_redacted(self):
        output = self.redact_value(
            {
                "type": "PaymentCaptured",
                "currency": "JPY",
                "amount": "1200",
                "payment": {"card_number": "5500 0000 0000 0004", "card_expiry": "11/26"},
            }
        )

        self.assertEqual(output["amount_minor"], 1200)
        self.assertNotIn("amount", output)
        self.assertEqual(output["payment"]["card_number"], "REDACTED-0004")
        self.assertEqual(output["payment"]["card_expiry"], "REDACTED")

    def test_configured_mask_is_used(self):
        app.init({"mask": "***"})

        output = self.redact_value(order_placed())

        self.assertEqual(output["customer"]["email"], "***")
        self.assertEqual(output["payment"]["card_number"], "***-1111")

    def test_output_keeps_key_and_headers(self):
        source = json_event(order_placed())

        output = app.process(source)[0]

        self.assertIsNone(output.topic)
        self.assertEqual(output.key, source.key)
        self.assertEqual(output.headers, source.headers)

    def test_decimals_convert_by_exponent(self):
        cases = [
            ("129.90", 2, 12990),
            ("129.9", 2, 12990),
            ("129", 2, 12900),
            ("0.05", 2, 5),
            ("-3.50", 2, -350),
            ("1200", 0, 1200),
            ("9223372036854775807", 0, 2**63 - 1),
        ]

        for text, exponent, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(app.to_minor_units(text, exponent, "`total`"), expected)

    def test_invalid_decimals_fail(self):
        cases = [
            ("12.345", 2),
            ("12.5", 0),
            ("12.", 2),
            (".5", 2),
            ("1,50", 2),
            ("+1.50", 2),
            ("", 2),
            ("99999999999999999999", 2),
            ("9223372036854775808", 0),
            ("1" * 5000, 0),
            ("\u0663.50", 2),
            (12.5, 2),
        ]

        for decimal, exponent in cases:
            with self.subTest(decimal=decimal):
                with self.assertRaises(ValueError):
                    app.to_minor_units(decimal, exponent, "`total`")

    def test_excess_fraction_digits_reject(self):
        document = order_placed()
        document["total"] = "129.901"

        self.assertEqual(
            self.reject_reason(document),
            "`total` has 3 fraction digits but the currency allows 2",
        )

    def test_jpy_fraction_rejects(self):
        document = order_placed()
        document["currency"] = "JPY"
        document["total"] = "1200"

        self.assertEqual(
            self.reject_reason(document),
            "`lines[0].unit_price` has 1 fraction digits but the currency allows 0",
        )

    def test_unknown_currency_rejects(self):
        document = order_placed()
        document["currency"] = "CHF"

        self.assertIn("`CHF` is not supported", self.reject_reason(document))

    def test_missing_currency_rejects(self):
        reason = self.reject_reason({"type": "PaymentCaptured", "amount": "5.00"})

        self.assertIn("`currency` is missing", reason)

    def test_invalid_card_number_rejects(self):
        for card_number in ["123", "4111-abcd-1111", 4111111111111111, "\u0664\u0661\u0661\u0661"]:
            with self.subTest(card_number=card_number):
                document = order_placed()
                document["payment"]["card_number"] = card_number

                reason = self.reject_reason(document)

                self.assertEqual(reason, "`payment.card_number` is not a card number")

    def test_invalid_json_rejects(self):
        for value in [b'{"type":', b"NaN", b'{"a":1e400}', b'"\\ud800"', b"\xff", b"[" * 128 + b"]" * 128]:
            with self.subTest(value=value[:20]):
                with self.assertRaises(Reject) as failure:
                    app.process(event(value))

                self.assertEqual(str(failure.exception), "value is not valid JSON")

    def test_unrelated_events_pass_unchanged(self):
        for value in [None, b'{"type": "OrderShipped", "carrier": "DHL"}', b"[1, 2]", b"[" * 127 + b"]" * 127]:
            with self.subTest(value=value and value[:20]):
                source = event(value)

                outputs = app.process(source)

                self.assertEqual(outputs, [weir_plugin.output_from(source)])

    def test_unknown_config_key_fails_init(self):
        with self.assertRaises(ValueError) as error:
            app.init({"mask": "x", "masks": "y"})

        self.assertIn("`masks`", str(error.exception))


class StrictJsonTest(unittest.TestCase):
    def test_numbers_parse_like_serde_json(self):
        document = strict_json.loads(b"[1, -0, 18446744073709551615, 18446744073709551616]")

        self.assertEqual(document[0], 1)
        self.assertIsInstance(document[1], float)
        self.assertEqual(document[2], 2**64 - 1)
        self.assertIsInstance(document[3], float)

    def test_dumps_is_compact_utf8(self):
        self.assertEqual(strict_json.dumps({"a": ["é", 1.5]}), '{"a":["é",1.5]}'.encode())


if __name__ == "__main__":
    unittest.main()
