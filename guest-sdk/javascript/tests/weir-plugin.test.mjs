// Unit tests of the SDK helpers in weir-plugin.js: Config, outputFrom, the UTF-8 helpers,
// the failure classes and log. Run them with `bash guest-sdk/javascript/test.sh
// guest-sdk/javascript/tests`.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { clearLogRecords, logRecords } from "weir:plugin/log@0.1.0";
import { Config, Failure, Reject, Retry, decodeText, encodeText, log, outputFrom } from "weir-plugin";

describe("Config", () => {
  test("get returns values and undefined", () => {
    const config = new Config([{ key: "mask", value: "***" }]);

    assert.equal(config.get("mask"), "***");
    assert.equal(config.get("masks"), undefined);
  });

  test("accepts WIT entries and pairs", () => {
    const fromEntries = new Config([{ key: "a", value: "1" }]);
    const fromPairs = new Config([["a", "1"]]);

    assert.equal(fromEntries.get("a"), "1");
    assert.equal(fromPairs.get("a"), "1");
  });

  test("stores keys and values as strings", () => {
    const config = new Config([[7, 42]]);

    assert.equal(config.get("7"), "42");
    assert.deepEqual(config.keys(), ["7"]);
  });

  test("require returns a present value", () => {
    const config = new Config([["topic", "orders"]]);

    assert.equal(config.require("topic"), "orders");
  });

  test("require names the missing key", () => {
    const config = new Config([["topic", "orders"]]);

    assert.throws(() => config.require("mask"), {
      name: "Error",
      message: "missing required config key `mask`",
    });
  });

  test("require accepts an empty value", () => {
    const config = new Config([["mask", ""]]);

    assert.equal(config.require("mask"), "");
  });

  test("keys are sorted lexicographically", () => {
    const config = new Config([
      ["b", "1"],
      ["a", "2"],
      ["B", "3"],
      ["a2", "4"],
    ]);

    assert.deepEqual(config.keys(), ["B", "a", "a2", "b"]);
  });

  test("duplicate key keeps last value", () => {
    const config = new Config([
      { key: "mask", value: "first" },
      { key: "other", value: "x" },
      { key: "mask", value: "last" },
    ]);

    assert.equal(config.get("mask"), "last");
    assert.equal(config.size, 2);
    assert.deepEqual(config.keys(), ["mask", "other"]);
  });

  test("empty config has no keys", () => {
    const config = new Config();

    assert.equal(config.size, 0);
    assert.deepEqual(config.keys(), []);
    assert.equal(config.get("mask"), undefined);
  });

  test("keys returns a copy", () => {
    const config = new Config([["a", "1"]]);

    config.keys().push("b");

    assert.deepEqual(config.keys(), ["a"]);
    assert.equal(config.get("b"), undefined);
  });
});

describe("outputFrom", () => {
  const event = {
    topic: "orders",
    partition: 3,
    offset: 12n,
    timestampMs: 1700000000000n,
    key: encodeText("ord-1"),
    value: encodeText('{"type":"OrderPlaced"}'),
    headers: [{ name: "source", value: encodeText("shop") }],
  };

  test("copies key, value and headers", () => {
    const output = outputFrom(event);

    assert.deepEqual(output, {
      topic: undefined,
      key: event.key,
      value: event.value,
      headers: event.headers,
    });
    assert.equal(output.key, event.key);
    assert.equal(output.value, event.value);
    assert.equal(output.headers, event.headers);
  });

  test("leaves out event-only fields", () => {
    const output = outputFrom(event);

    assert.deepEqual(Object.keys(output).sort(), ["headers", "key", "topic", "value"]);
  });

  test("changes replace fields", () => {
    const output = outputFrom(event, { topic: "orders-redacted", value: "text", headers: [] });

    assert.equal(output.topic, "orders-redacted");
    assert.equal(output.value, "text");
    assert.deepEqual(output.headers, []);
    assert.equal(output.key, event.key);
  });

  test("undefined change clears a field", () => {
    const output = outputFrom(event, { value: undefined });

    assert.equal(output.value, undefined);
    assert.equal(output.key, event.key);
  });

  test("tombstone stays a tombstone", () => {
    const output = outputFrom({ ...event, value: undefined });

    assert.equal(output.value, undefined);
  });

  test("event is not modified", () => {
    outputFrom(event, { key: "other", value: "other" });

    assert.equal(event.topic, "orders");
    assert.equal(decodeText(event.key), "ord-1");
    assert.equal(decodeText(event.value), '{"type":"OrderPlaced"}');
  });
});

describe("encodeText and decodeText", () => {
  test("encodeText writes UTF-8", () => {
    assert.deepEqual(encodeText("aé😀"), new Uint8Array([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]));
    assert.deepEqual(encodeText(""), new Uint8Array([]));
  });

  test("decodeText reads UTF-8", () => {
    assert.equal(decodeText(new Uint8Array([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80])), "aé😀");
    assert.equal(decodeText(new Uint8Array([])), "");
  });

  test("text round-trips", () => {
    const text = "Zoë 日本語 \u0000 \u{1f600}";

    assert.equal(decodeText(encodeText(text)), text);
  });

  test("decodeText reads a subarray", () => {
    const bytes = encodeText("xxhelloxx").subarray(2, 7);

    assert.equal(decodeText(bytes), "hello");
  });

  test("decodeText rejects invalid UTF-8", () => {
    const invalid = [
      [0xff],
      [0x7b, 0x22, 0xff, 0x22, 0x7d],
      [0xc3],
      [0xed, 0xa0, 0x80], // an encoded UTF-16 surrogate
      [0xc0, 0xaf], // an overlong encoding of `/`
    ];

    for (const bytes of invalid) {
      assert.throws(() => decodeText(new Uint8Array(bytes)), TypeError, `bytes ${bytes}`);
    }
  });

  test("decodeText keeps a byte order mark", () => {
    const text = decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]));

    assert.equal(text, "\ufeff{}");
    assert.throws(() => JSON.parse(text), SyntaxError);
  });

  // The SDK shares one TextDecoder, so a truncated sequence must not carry into the next call.
  test("decodeText keeps no state between calls", () => {
    assert.throws(() => decodeText(new Uint8Array([0xe2, 0x82])), TypeError);

    assert.throws(() => decodeText(new Uint8Array([0xac])), TypeError);
    assert.equal(decodeText(new Uint8Array([0xe2, 0x82, 0xac])), "€");
  });
});

describe("failure classes", () => {
  test("Retry is a named Failure", () => {
    const retry = new Retry("database busy");

    assert.ok(retry instanceof Failure);
    assert.ok(retry instanceof Error);
    assert.equal(retry.name, "Retry");
    assert.equal(retry.message, "database busy");
  });

  test("Reject is a named Failure", () => {
    const reject = new Reject("value is not valid JSON");

    assert.ok(reject instanceof Failure);
    assert.ok(reject instanceof Error);
    assert.ok(!(reject instanceof Retry));
    assert.equal(reject.name, "Reject");
    assert.equal(reject.message, "value is not valid JSON");
  });
});

describe("log", () => {
  beforeEach(clearLogRecords);

  test("each level reaches the host", () => {
    log.trace("t");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");

    assert.deepEqual(logRecords, [
      { level: "trace", message: "t" },
      { level: "debug", message: "d" },
      { level: "info", message: "i" },
      { level: "warn", message: "w" },
      { level: "error", message: "e" },
    ]);
  });

  test("non-string messages become text", () => {
    log.info(42);
    log.warn(new Error("boom"));
    log.debug(undefined);

    assert.deepEqual(logRecords, [
      { level: "info", message: "42" },
      { level: "warn", message: "Error: boom" },
      { level: "debug", message: "undefined" },
    ]);
  });
});
