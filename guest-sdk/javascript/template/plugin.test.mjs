// Unit tests of the {{name}} plugin, run on Node.js by `bash {{sdk}}/javascript/test.sh .`.
// They call the exported `handler` as Weir would, with WIT values as plain objects.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { encodeText } from "weir-plugin";
import { handler } from "./plugin.js";

function event(value) {
  return {
    topic: "orders",
    partition: 0,
    offset: 7n,
    timestampMs: undefined,
    key: encodeText("ord-1"),
    value: value === undefined ? undefined : encodeText(value),
    headers: [{ name: "source", value: encodeText("shop") }],
  };
}

beforeEach(() => {
  assert.deepEqual(handler.init([]), { tag: "ok", val: undefined });
});

test("event passes unchanged", () => {
  const source = event('{"type": "OrderPlaced"}');

  const results = handler.process([source]);

  assert.deepEqual(results, [
    { tag: "ok", val: [{ topic: undefined, key: source.key, value: source.value, headers: source.headers }] },
  ]);
});

test("tombstone stays a tombstone", () => {
  const [result] = handler.process([event(undefined)]);

  assert.equal(result.tag, "ok");
  assert.equal(result.val[0].value, undefined);
});

test("unknown config key fails init", () => {
  const result = handler.init([{ key: "mask", value: "x" }]);

  assert.equal(result.tag, "err");
  assert.match(result.val, /unknown config key `mask`/);
});
