// Unit tests of the redact-customer plugin, ported from the Rust plugin's tests in
// plugins/redact-customer/src/lib.rs and the Python port's test_app.py. They call the
// exported `handler` as the host would, with WIT values as plain objects. Run them with
// `bash guest-sdk/javascript/test.sh plugins/redact-customer-javascript`.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { clearLogRecords, logRecords } from "weir:plugin/log@0.1.0";
import { decodeText, encodeText } from "weir-plugin";
import { DEFAULT_MASK, handler } from "./plugin.js";

const ORDER_PLACED = {
  type: "OrderPlaced",
  order_id: "ord-00000042",
  customer: { id: "cus-00017", email: "anna.berg@example.com", name: "Anna Berg" },
  payment: { method: "card", card_number: "4111111111111111", card_expiry: "08/27" },
  currency: "EUR",
  total: "129.90",
  lines: [
    { sku: "MUG-350", quantity: 2, unit_price: "12.5" },
    { sku: "TEE-M", quantity: 1, unit_price: "104.90" },
  ],
};

function orderPlaced() {
  return structuredClone(ORDER_PLACED);
}

/** Returns an event whose value is `value`: bytes, text to encode, or undefined. */
function event(value) {
  return {
    topic: "orders",
    partition: 0,
    offset: 12n,
    timestampMs: undefined,
    key: encodeText("ord-00000042"),
    value: typeof value === "string" ? encodeText(value) : value,
    headers: [{ name: "source", value: encodeText("shop") }],
  };
}

function jsonEvent(document) {
  return event(JSON.stringify(document));
}

/** Returns the same output that `outputFrom` gives, as the SDK passes it to the host. */
function unchanged(source) {
  return { topic: undefined, key: source.key, value: source.value, headers: source.headers };
}

function processOne(source) {
  const results = handler.process([source]);
  assert.equal(results.length, 1);
  return results[0];
}

/** Runs the plugin on one event and returns the text of its single output value. */
function redactText(source) {
  const result = processOne(source);
  assert.equal(result.tag, "ok", `expected outputs, got ${JSON.stringify(result.val)}`);
  assert.equal(result.val.length, 1);
  return decodeText(result.val[0].value);
}

function redactValue(document) {
  return JSON.parse(redactText(jsonEvent(document)));
}

function rejectReason(source) {
  const result = processOne(source);
  assert.equal(result.tag, "err", "expected a reject, got outputs");
  assert.equal(result.val.tag, "reject");
  return result.val.val;
}

function initWith(entries) {
  return handler.init(entries.map(([key, value]) => ({ key, value })));
}

beforeEach(() => {
  assert.deepEqual(initWith([]), { tag: "ok", val: undefined });
  clearLogRecords();
});

describe("redaction", () => {
  test("order placed is redacted", () => {
    const output = redactValue(orderPlaced());

    assert.equal(output.customer.email, "REDACTED");
    assert.equal(output.customer.name, "Anna Berg");
    assert.equal(output.payment.card_number, "REDACTED-1111");
    assert.equal(output.payment.card_expiry, "REDACTED");
    assert.equal(output.payment.method, "card");
  });

  test("order placed amounts convert", () => {
    const output = redactValue(orderPlaced());

    assert.equal(output.total_minor, 12990);
    assert.equal(Object.hasOwn(output, "total"), false);
    assert.equal(output.lines[0].unit_price_minor, 1250);
    assert.equal(output.lines[1].unit_price_minor, 10490);
    assert.equal(Object.hasOwn(output.lines[0], "unit_price"), false);
    assert.equal(output.lines[0].sku, "MUG-350");
    assert.equal(output.lines[0].quantity, 2);
  });

  test("payment captured is redacted", () => {
    const output = redactValue({
      type: "PaymentCaptured",
      currency: "JPY",
      amount: "1200",
      payment: { card_number: "5500 0000 0000 0004", card_expiry: "11/26" },
    });

    assert.equal(output.amount_minor, 1200);
    assert.equal(Object.hasOwn(output, "amount"), false);
    assert.equal(output.payment.card_number, "REDACTED-0004");
    assert.equal(output.payment.card_expiry, "REDACTED");
  });

  test("card separators are ignored", () => {
    const cases = [
      ["4111 1111-1111 1112", "REDACTED-1112"],
      ["  12 34 ", "REDACTED-1234"],
      ["1234", "REDACTED-1234"],
    ];

    for (const [cardNumber, expected] of cases) {
      const document = orderPlaced();
      document.payment.card_number = cardNumber;

      assert.equal(redactValue(document).payment.card_number, expected, cardNumber);
    }
  });

  test("null email is masked", () => {
    const document = orderPlaced();
    document.customer = { email: null };

    assert.deepEqual(redactValue(document).customer, { email: "REDACTED" });
  });

  test("non-object customer and payment stay", () => {
    for (const value of [null, "str", [1], 5]) {
      const document = orderPlaced();
      document.customer = value;
      document.payment = value;

      const output = redactValue(document);

      assert.deepEqual(output.customer, value);
      assert.deepEqual(output.payment, value);
      assert.equal(output.total_minor, 12990);
    }
  });

  test("card expiry alone is masked", () => {
    const document = orderPlaced();
    document.payment = { card_expiry: 5 };

    assert.deepEqual(redactValue(document).payment, { card_expiry: "REDACTED" });
  });

  test("invalid card number rejects", () => {
    const cardNumbers = [
      "123",
      "4111-abcd-1111",
      4111111111111111,
      "\u0664\u0661\u0661\u0661",
      null,
      "",
      "4111.1111",
    ];

    for (const cardNumber of cardNumbers) {
      const document = orderPlaced();
      document.payment.card_number = cardNumber;

      assert.equal(
        rejectReason(jsonEvent(document)),
        "`payment.card_number` is not a card number",
        String(cardNumber),
      );
    }
  });
});

describe("config", () => {
  test("default mask is REDACTED", () => {
    assert.equal(DEFAULT_MASK, "REDACTED");
  });

  test("configured mask is used", () => {
    assert.deepEqual(initWith([["mask", "***"]]), { tag: "ok", val: undefined });

    const output = redactValue(orderPlaced());

    assert.equal(output.customer.email, "***");
    assert.equal(output.payment.card_number, "***-1111");
    assert.equal(output.payment.card_expiry, "***");
  });

  test("empty mask is used as given", () => {
    initWith([["mask", ""]]);

    const output = redactValue(orderPlaced());

    assert.equal(output.customer.email, "");
    assert.equal(output.payment.card_number, "-1111");
  });

  test("unknown config key fails init", () => {
    const result = initWith([
      ["mask", "x"],
      ["masks", "y"],
    ]);

    assert.equal(result.tag, "err");
    assert.equal(result.val, "unknown config key `masks`: redact-customer accepts only `mask`");
  });

  test("failed init keeps previous mask", () => {
    initWith([["mask", "[hidden]"]]);
    assert.equal(initWith([["colour", "red"]]).tag, "err");

    assert.equal(redactValue(orderPlaced()).customer.email, "[hidden]");
  });
});

describe("amounts", () => {
  /** Returns `total_minor` of an event with the given total and currency, as JSON text. */
  function totalMinorText(total, currency) {
    const text = redactText(jsonEvent({ currency, total }));
    const match = /"total_minor":(-?[0-9]+)[,}]/.exec(text);
    assert.notEqual(match, null, `no integer total_minor in ${text}`);
    return match[1];
  }

  test("decimals convert by exponent", () => {
    const cases = [
      ["129.90", "EUR", "12990"],
      ["129.9", "USD", "12990"],
      ["129", "GBP", "12900"],
      ["0.05", "EUR", "5"],
      ["-3.50", "EUR", "-350"],
      ["00012.30", "EUR", "1230"],
      ["-0", "EUR", "0"],
      ["-0.00", "EUR", "0"],
      ["1200", "JPY", "1200"],
      ["9223372036854775807", "JPY", "9223372036854775807"],
      ["92233720368547758.07", "EUR", "9223372036854775807"],
      ["-92233720368547758.07", "EUR", "-9223372036854775807"],
      ["90071992547409.93", "EUR", "9007199254740993"],
    ];

    for (const [total, currency, expected] of cases) {
      assert.equal(totalMinorText(total, currency), expected, `${total} ${currency}`);
    }
  });

  test("invalid decimals reject", () => {
    const notDecimal = "`total` is not a decimal string";
    const outOfRange = "`total` is out of range for minor units";
    const cases = [
      ["12.345", "EUR", "`total` has 3 fraction digits but the currency allows 2"],
      ["12.5", "JPY", "`total` has 1 fraction digits but the currency allows 0"],
      ["12.", "EUR", notDecimal],
      [".5", "EUR", notDecimal],
      ["..5", "EUR", notDecimal],
      ["1.2.3", "EUR", notDecimal],
      ["1,50", "EUR", notDecimal],
      ["+1.50", "EUR", notDecimal],
      ["-", "EUR", notDecimal],
      ["", "EUR", notDecimal],
      [" 1.50", "EUR", notDecimal],
      ["\u0663.50", "EUR", notDecimal],
      ["\uff11\uff12", "EUR", notDecimal],
      [12.5, "EUR", notDecimal],
      [null, "EUR", notDecimal],
      ["99999999999999999999", "EUR", outOfRange],
      ["9223372036854775808", "JPY", outOfRange],
      ["-92233720368547758.08", "EUR", outOfRange],
      ["1".repeat(5000), "JPY", outOfRange],
    ];

    for (const [total, currency, reason] of cases) {
      const label = `${String(total).slice(0, 20)} ${currency}`;

      assert.equal(rejectReason(jsonEvent({ currency, total })), reason, label);
    }
  });

  test("excess fraction digits reject", () => {
    const document = orderPlaced();
    document.total = "129.901";

    assert.equal(
      rejectReason(jsonEvent(document)),
      "`total` has 3 fraction digits but the currency allows 2",
    );
  });

  test("JPY fraction rejects", () => {
    const document = orderPlaced();
    document.currency = "JPY";
    document.total = "1200";

    assert.equal(
      rejectReason(jsonEvent(document)),
      "`lines[0].unit_price` has 1 fraction digits but the currency allows 0",
    );
  });

  test("unknown currency rejects", () => {
    for (const currency of ["CHF", "eur"]) {
      const document = orderPlaced();
      document.currency = currency;

      assert.equal(
        rejectReason(jsonEvent(document)),
        `currency \`${currency}\` is not supported; expected EUR, USD, GBP or JPY`,
      );
    }
  });

  test("missing currency rejects", () => {
    const reasons = [
      rejectReason(jsonEvent({ type: "PaymentCaptured", amount: "5.00" })),
      rejectReason(jsonEvent({ lines: [{ unit_price: "1.00" }] })),
    ];

    for (const reason of reasons) {
      assert.equal(reason, "`currency` is missing, so amounts cannot be converted");
    }
  });

  test("non-string currency rejects", () => {
    for (const currency of [null, 5, ["EUR"]]) {
      assert.equal(rejectReason(jsonEvent({ currency, total: "1.00" })), "`currency` is not a string");
    }
  });

  test("non-object lines are skipped", () => {
    const output = redactValue({ lines: [1, "x", { sku: "a" }], currency: "USD", total: "2" });

    assert.deepEqual(output.lines, [1, "x", { sku: "a" }]);
    assert.equal(output.total_minor, 200);
  });

  test("invalid line price names its index", () => {
    const reason = rejectReason(jsonEvent({ lines: [1, "x", null, { unit_price: null }], currency: "USD" }));

    assert.equal(reason, "`lines[3].unit_price` is not a decimal string");
  });

  test("lines object is not an array", () => {
    const source = jsonEvent({ lines: { unit_price: "1.00" } });

    assert.deepEqual(handler.process([source]), [{ tag: "ok", val: [unchanged(source)] }]);
  });

  test("existing minor field is replaced", () => {
    const output = redactValue({ total: "1.00", total_minor: 5, currency: "GBP", amount: "2" });

    assert.deepEqual(output, { total_minor: 100, currency: "GBP", amount_minor: 200 });
  });
});

describe("events", () => {
  test("output keeps key and headers", () => {
    const source = jsonEvent(orderPlaced());

    const [result] = handler.process([source]);

    assert.equal(result.tag, "ok");
    assert.equal(result.val.length, 1);
    assert.equal(result.val[0].topic, undefined);
    assert.deepEqual(result.val[0].key, source.key);
    assert.deepEqual(result.val[0].headers, source.headers);
  });

  test("unrelated events pass unchanged", () => {
    const values = [
      undefined,
      '{"type": "OrderShipped", "carrier": "DHL"}',
      "[1, 2]",
      '"str"',
      "null",
      "5",
      " { } ",
      "[".repeat(127) + "]".repeat(127),
    ];

    for (const value of values) {
      const source = event(value);

      const results = handler.process([source]);

      assert.deepEqual(results, [{ tag: "ok", val: [unchanged(source)] }], String(value).slice(0, 20));
    }
  });

  test("tombstone keeps its headers", () => {
    const source = {
      ...event(undefined),
      headers: [
        { name: "h", value: undefined },
        { name: "g", value: encodeText("v") },
      ],
    };

    const [result] = handler.process([source]);

    assert.deepEqual(result, { tag: "ok", val: [unchanged(source)] });
    assert.equal(result.val[0].value, undefined);
  });

  test("invalid JSON rejects", () => {
    const values = [
      '{"type":',
      "",
      "NaN",
      '{"a":1} x',
      '{"a":1e400}',
      '{"x": 1e400, "customer": {"email": "x"}}',
      '"\\ud800"',
      '{"s": "\\udc00x", "customer": {"email": "x"}}',
      "[".repeat(128) + "]".repeat(128),
      `{"customer": {"email": "x"}, "deep": ${"[".repeat(127)}${"]".repeat(127)}}`,
      new Uint8Array([0xff]),
      new Uint8Array([...encodeText('{"customer":{"email":"'), 0xff, ...encodeText('"}}')]),
      new Uint8Array([0xef, 0xbb, 0xbf, ...encodeText('{"customer":{"email":"x"}}')]),
    ];

    for (const value of values) {
      const label = typeof value === "string" ? value.slice(0, 20) : `bytes ${value.slice(0, 8)}`;

      assert.equal(rejectReason(event(value)), "value is not valid JSON", label);
    }
  });

  test("rejects are not logged", () => {
    rejectReason(event("{"));

    assert.deepEqual(logRecords, []);
  });

  test("batch gets one result per event", () => {
    const ok = jsonEvent(orderPlaced());

    const results = handler.process([ok, event("{"), event(undefined)]);

    assert.deepEqual(
      results.map((result) => result.tag),
      ["ok", "err", "ok"],
    );
    assert.deepEqual(results[1].val, { tag: "reject", val: "value is not valid JSON" });
  });
});

describe("JSON fidelity", () => {
  test("numbers keep their serde_json form", () => {
    const text = redactText(
      event(
        '{"a": 1.0, "b": 12345678901234567890, "c": -0, "d": 1e2, "e": 0.1, "f": -0.0, ' +
          '"g": 9007199254740993, "h": 1E-400, "customer": {"email": "x"}}',
      ),
    );

    assert.equal(
      text,
      '{"a":1.0,"b":12345678901234567890,"c":-0.0,"d":1e2,"e":0.1,"f":-0.0,' +
        '"g":9007199254740993,"h":1E-400,"customer":{"email":"REDACTED"}}',
    );
  });

  // Integral floats such as 1.5e300 keep their text, and other numbers are written as
  // JSON.stringify writes them, which serde_json reads as the same value.
  test("exponent forms keep their values", () => {
    const text = redactText(
      event('{"customer":{"email":"x"},"n":[1.5e300, -1.25, 3e-5, 100000000000000000000000, 1e21, 7]}'),
    );

    assert.equal(text, '{"customer":{"email":"REDACTED"},"n":[1.5e300,-1.25,0.00003,1e+23,1e21,7]}');
  });

  test("strings round-trip", () => {
    const value = '{"s": "\\ud83d\\ude00 \\u00e9 \\"q\\" \\n", "customer": {"email": "x"}}';

    const text = redactText(event(value));

    assert.equal(text, '{"s":"😀 é \\"q\\" \\n","customer":{"email":"REDACTED"}}');
  });

  test("__proto__ key stays data", () => {
    const text = redactText(event('{"__proto__": {"a": 1}, "customer": {"email": "x"}, "n": 1.0}'));

    assert.equal(text, '{"__proto__":{"a":1},"customer":{"email":"REDACTED"},"n":1.0}');
  });

  test("duplicate keys keep the last", () => {
    const cases = [
      ['{"customer": {"email": "a"}, "customer": 5}', { customer: 5 }],
      ['{"customer": 5, "customer": {"email": "a"}}', { customer: { email: "REDACTED" } }],
      [
        '{"customer": {"email": "a", "email": "b"}, "currency": "USD", "total": "1", "total": "2.5"}',
        { customer: { email: "REDACTED" }, currency: "USD", total_minor: 250 },
      ],
    ];

    for (const [value, expected] of cases) {
      const output = JSON.parse(redactText(event(value)));

      assert.deepEqual(output, expected, value);
    }
  });
});
