// Unit tests of exportPlugin in weir-plugin.js: the `handler` object that ComponentizeJS
// exports, called here with the plain objects that the bindings pass for WIT values.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { clearLogRecords, logRecords } from "weir:plugin/log@0.1.0";
import { Config, NOT_INITIALISED, Reject, Retry, encodeText, exportPlugin, outputFrom } from "weir-plugin";

const OK = { tag: "ok", val: undefined };

function event(value, offset = 0n) {
  return {
    topic: "orders",
    partition: 0,
    offset,
    timestampMs: undefined,
    key: encodeText("ord-1"),
    value: value === undefined ? undefined : encodeText(value),
    headers: [{ name: "source", value: encodeText("shop") }],
  };
}

function reject(reason) {
  return { tag: "err", val: { tag: "reject", val: reason } };
}

function retry(reason) {
  return { tag: "err", val: { tag: "retry", val: reason } };
}

/** Returns a plugin class whose instances run `processOne` on each event. */
function pluginOf(processOne, name = "test") {
  return class {
    static init() {
      return new this();
    }

    constructor() {
      this.name = name;
    }

    process(event) {
      return processOne(event, this);
    }
  };
}

/** Returns a handler that has been initialised with an empty config. */
function initialised(pluginClass) {
  const handler = exportPlugin(pluginClass);
  assert.deepEqual(handler.init([]), OK);
  return handler;
}

beforeEach(clearLogRecords);

describe("exportPlugin", () => {
  test("rejects a class without init", () => {
    for (const value of [class {}, {}, undefined, null, { init: "x" }]) {
      assert.throws(() => exportPlugin(value), {
        name: "TypeError",
        message: /static `init\(config\)` method/,
      });
    }
  });

  test("accepts an object with init", () => {
    const handler = exportPlugin({ init: () => ({ process: (event) => [outputFrom(event)] }) });

    assert.deepEqual(handler.init([]), OK);
    assert.equal(handler.process([event("a")])[0].tag, "ok");
  });
});

describe("init", () => {
  test("success returns ok", () => {
    const handler = exportPlugin(pluginOf(() => []));

    assert.deepEqual(handler.init([{ key: "mask", value: "x" }]), OK);
  });

  test("receives a Config", () => {
    let received;
    const handler = exportPlugin({
      init(config) {
        received = config;
        return { process: () => [] };
      },
    });

    handler.init([
      { key: "b", value: "2" },
      { key: "a", value: "1" },
      { key: "b", value: "3" },
    ]);

    assert.ok(received instanceof Config);
    assert.deepEqual(received.keys(), ["a", "b"]);
    assert.equal(received.get("b"), "3");
  });

  test("thrown Error fails with its message", () => {
    const handler = exportPlugin({
      init(config) {
        config.require("mask");
        return { process: () => [] };
      },
    });

    assert.deepEqual(handler.init([]), { tag: "err", val: "missing required config key `mask`" });
  });

  test("thrown Failure fails with its message", () => {
    const handler = exportPlugin({
      init() {
        throw new Reject("bad config");
      },
    });

    assert.deepEqual(handler.init([]), { tag: "err", val: "bad config" });
  });

  test("thrown non-Error fails with its text", () => {
    const handler = exportPlugin({
      init() {
        throw "no config here";
      },
    });

    assert.deepEqual(handler.init([]), { tag: "err", val: "no config here" });
  });

  test("result without process fails", () => {
    for (const created of [undefined, null, 5, "plugin", {}, { process: "x" }]) {
      const handler = exportPlugin({ init: () => created });

      assert.deepEqual(
        handler.init([]),
        { tag: "err", val: "init must return an object with a `process(event)` method" },
        `init returned ${String(created)}`,
      );
    }
  });

  test("failed init keeps previous instance", () => {
    const handler = exportPlugin({
      init(config) {
        const mask = config.require("mask");
        return { process: (event) => [outputFrom(event, { value: mask })] };
      },
    });
    assert.deepEqual(handler.init([{ key: "mask", value: "first" }]), OK);

    assert.equal(handler.init([]).tag, "err");

    const [result] = handler.process([event("x")]);
    assert.deepEqual(result.val[0].value, encodeText("first"));
  });

  test("successful init replaces instance", () => {
    const handler = exportPlugin({
      init(config) {
        const mask = config.require("mask");
        return { process: (event) => [outputFrom(event, { value: mask })] };
      },
    });
    handler.init([{ key: "mask", value: "first" }]);

    assert.deepEqual(handler.init([{ key: "mask", value: "second" }]), OK);

    const [result] = handler.process([event("x")]);
    assert.deepEqual(result.val[0].value, encodeText("second"));
  });
});

describe("process before init", () => {
  test("rejects every event", () => {
    let calls = 0;
    const handler = exportPlugin(
      pluginOf(() => {
        calls += 1;
        return [];
      }),
    );

    const results = handler.process([event("a"), event(undefined), event("c")]);

    assert.deepEqual(results, [reject(NOT_INITIALISED), reject(NOT_INITIALISED), reject(NOT_INITIALISED)]);
    assert.equal(NOT_INITIALISED, "plugin not initialised");
    assert.equal(calls, 0);
  });

  test("rejects after a failed init", () => {
    const handler = exportPlugin({
      init() {
        throw new Error("bad config");
      },
    });
    handler.init([]);

    assert.deepEqual(handler.process([event("a")]), [reject(NOT_INITIALISED)]);
  });

  test("empty batch returns no results", () => {
    const handler = exportPlugin(pluginOf(() => []));

    assert.deepEqual(handler.process([]), []);
  });

  test("processBatch is not called", () => {
    let calls = 0;
    const handler = exportPlugin({
      init: () => ({
        process: () => [],
        processBatch(events) {
          calls += 1;
          return events.map(() => ({ tag: "ok", val: [] }));
        },
      }),
    });

    assert.deepEqual(handler.process([event("a")]), [reject(NOT_INITIALISED)]);
    assert.equal(calls, 0);
  });
});

describe("process", () => {
  test("outputs become an ok result", () => {
    const handler = initialised(pluginOf((event) => [outputFrom(event)]));
    const input = event('{"a":1}');

    const results = handler.process([input]);

    assert.deepEqual(results, [
      {
        tag: "ok",
        val: [{ topic: undefined, key: input.key, value: input.value, headers: input.headers }],
      },
    ]);
  });

  test("empty array filters the event", () => {
    const handler = initialised(pluginOf(() => []));

    assert.deepEqual(handler.process([event("a")]), [{ tag: "ok", val: [] }]);
  });

  test("several outputs fan out", () => {
    const handler = initialised(
      pluginOf((event) => [outputFrom(event, { topic: "a" }), outputFrom(event, { topic: "b" })]),
    );

    const [result] = handler.process([event("x")]);

    assert.equal(result.tag, "ok");
    assert.deepEqual(
      result.val.map((output) => output.topic),
      ["a", "b"],
    );
  });

  test("Retry maps to retry", () => {
    const handler = initialised(
      pluginOf(() => {
        throw new Retry("database busy");
      }),
    );

    assert.deepEqual(handler.process([event("a")]), [retry("database busy")]);
    assert.deepEqual(logRecords, []);
  });

  test("Reject maps to reject", () => {
    const handler = initialised(
      pluginOf(() => {
        throw new Reject("value is not valid JSON");
      }),
    );

    assert.deepEqual(handler.process([event("a")]), [reject("value is not valid JSON")]);
    assert.deepEqual(logRecords, []);
  });

  test("subclass of Reject maps to reject", () => {
    class SchemaError extends Reject {}
    const handler = initialised(
      pluginOf(() => {
        throw new SchemaError("missing `type`");
      }),
    );

    assert.deepEqual(handler.process([event("a")]), [reject("missing `type`")]);
  });

  test("unexpected exception is logged and rethrown", () => {
    const thrown = new RangeError("index out of range");
    const handler = initialised(
      pluginOf(() => {
        throw thrown;
      }),
    );

    assert.throws(
      () => handler.process([event("a")]),
      (error) => error === thrown,
    );

    assert.equal(logRecords.length, 1);
    assert.equal(logRecords[0].level, "error");
    assert.match(
      logRecords[0].message,
      /^plugin threw an unexpected exception: RangeError: index out of range/,
    );
  });

  test("thrown non-Error is logged and rethrown", () => {
    const handler = initialised(
      pluginOf(() => {
        throw "plain string";
      }),
    );

    assert.throws(
      () => handler.process([event("a")]),
      (error) => error === "plain string",
    );

    assert.deepEqual(logRecords, [
      { level: "error", message: "plugin threw an unexpected exception: plain string" },
    ]);
  });

  test("non-array result traps", () => {
    const results = [undefined, null, outputFrom(event("a")), Promise.resolve([])];

    for (const returned of results) {
      clearLogRecords();
      const handler = initialised(pluginOf(() => returned));

      assert.throws(() => handler.process([event("a")]), {
        name: "TypeError",
        message: /^process must return an array of outputs/,
      });
      assert.equal(logRecords.length, 1);
      assert.equal(logRecords[0].level, "error");
    }
  });

  test("each event gets its own result", () => {
    const handler = initialised(
      pluginOf((event) => {
        const text = new TextDecoder().decode(event.value);
        if (text === "bad") {
          throw new Reject(`bad event at offset ${event.offset}`);
        }
        if (text === "busy") {
          throw new Retry("busy");
        }
        return [outputFrom(event)];
      }),
    );

    const results = handler.process([event("a", 1n), event("bad", 2n), event("busy", 3n), event("d", 4n)]);

    assert.equal(results.length, 4);
    assert.equal(results[0].tag, "ok");
    assert.deepEqual(results[1], reject("bad event at offset 2"));
    assert.deepEqual(results[2], retry("busy"));
    assert.equal(results[3].tag, "ok");
  });

  test("events are processed in order", () => {
    const seen = [];
    const handler = initialised(
      pluginOf((event) => {
        seen.push(event.offset);
        return [];
      }),
    );

    handler.process([event("a", 5n), event("b", 6n), event("c", 7n)]);

    assert.deepEqual(seen, [5n, 6n, 7n]);
  });

  test("unexpected exception fails whole batch", () => {
    const handler = initialised(
      pluginOf((event) => {
        if (event.offset === 2n) {
          throw new Error("bug");
        }
        return [outputFrom(event)];
      }),
    );

    assert.throws(() => handler.process([event("a", 1n), event("b", 2n), event("c", 3n)]), {
      message: "bug",
    });
  });

  test("state persists across calls", () => {
    const handler = initialised(
      pluginOf((event, plugin) => {
        plugin.count = (plugin.count ?? 0) + 1;
        return [outputFrom(event, { value: String(plugin.count) })];
      }),
    );

    handler.process([event("a")]);
    const [result] = handler.process([event("b")]);

    assert.deepEqual(result.val[0].value, encodeText("2"));
  });
});

describe("output conversion", () => {
  function convert(output) {
    const handler = initialised(pluginOf(() => [output]));
    const [result] = handler.process([event("x")]);
    assert.equal(result.tag, "ok");
    return result.val[0];
  }

  test("strings are encoded as UTF-8", () => {
    const output = convert({
      key: "clé",
      value: "{\"a\":\"é\"}",
      headers: [{ name: "source", value: "shöp" }],
    });

    assert.deepEqual(output.key, encodeText("clé"));
    assert.deepEqual(output.value, encodeText("{\"a\":\"é\"}"));
    assert.deepEqual(output.headers, [{ name: "source", value: encodeText("shöp") }]);
  });

  test("byte views pass unchanged", () => {
    const key = new Uint8Array([0, 255]);
    const value = new DataView(new ArrayBuffer(2));
    const header = new Uint8Array([1]);

    const output = convert({ key, value, headers: [{ name: "h", value: header }] });

    assert.equal(output.key, key);
    assert.equal(output.value, value);
    assert.equal(output.headers[0].value, header);
  });

  test("null and undefined become absent", () => {
    const output = convert({
      topic: null,
      key: null,
      value: undefined,
      headers: [
        { name: "a", value: null },
        { name: "b", value: undefined },
      ],
    });

    assert.deepEqual(output, {
      topic: undefined,
      key: undefined,
      value: undefined,
      headers: [
        { name: "a", value: undefined },
        { name: "b", value: undefined },
      ],
    });
  });

  test("missing headers become empty", () => {
    const output = convert({ topic: "audit", value: "v" });

    assert.equal(output.topic, "audit");
    assert.deepEqual(output.headers, []);
  });

  test("empty string is an empty value", () => {
    const output = convert({ value: "" });

    assert.deepEqual(output.value, new Uint8Array([]));
  });

  test("invalid field types trap", () => {
    const cases = [
      [{ value: 5 }, /^output value must be a Uint8Array, a string or undefined, not number$/],
      [{ key: {} }, /^output key must be/],
      [{ headers: [{ name: "h", value: 1 }] }, /^output header `h` must be/],
      [{ value: [1, 2] }, /^output value must be/],
    ];

    for (const [output, message] of cases) {
      clearLogRecords();
      const handler = initialised(pluginOf(() => [output]));

      assert.throws(() => handler.process([event("x")]), { name: "TypeError", message });
      assert.equal(logRecords.length, 1, `log for ${message}`);
    }
  });

  test("non-object output traps", () => {
    for (const [output, message] of [
      [null, "an output must be an object, not null"],
      ["text", "an output must be an object, not string"],
      [undefined, "an output must be an object, not undefined"],
    ]) {
      const handler = initialised(pluginOf(() => [output]));

      assert.throws(() => handler.process([event("x")]), { name: "TypeError", message });
    }
  });
});

describe("processBatch", () => {
  function batchPlugin(processBatch) {
    const calls = { process: 0, batches: [] };
    const pluginClass = {
      init: () => ({
        process() {
          calls.process += 1;
          return [];
        },
        processBatch(events) {
          calls.batches.push(events.length);
          return processBatch(events);
        },
      }),
    };
    return { handler: initialised(pluginClass), calls };
  }

  test("replaces per-event process", () => {
    const { handler, calls } = batchPlugin((events) => events.map(() => ({ tag: "ok", val: [] })));

    const results = handler.process([event("a"), event("b"), event("c")]);

    assert.deepEqual(results, [
      { tag: "ok", val: [] },
      { tag: "ok", val: [] },
      { tag: "ok", val: [] },
    ]);
    assert.deepEqual(calls.batches, [3]);
    assert.equal(calls.process, 0);
  });

  test("ok outputs are converted", () => {
    const { handler } = batchPlugin((events) =>
      events.map((event) => ({ tag: "ok", val: [outputFrom(event, { value: "new", headers: undefined })] })),
    );
    const input = event("old");

    const [result] = handler.process([input]);

    assert.deepEqual(result, {
      tag: "ok",
      val: [{ topic: undefined, key: input.key, value: encodeText("new"), headers: [] }],
    });
  });

  test("failures pass through in order", () => {
    const { handler } = batchPlugin(() => [retry("busy"), { tag: "ok", val: [] }, reject("poison")]);

    const results = handler.process([event("a"), event("b"), event("c")]);

    assert.deepEqual(results, [retry("busy"), { tag: "ok", val: [] }, reject("poison")]);
  });

  test("wrong result count traps", () => {
    const { handler } = batchPlugin(() => [{ tag: "ok", val: [] }]);

    assert.throws(() => handler.process([event("a"), event("b")]), {
      message: "processBatch returned 1 results for 2 events; it must return an array of one result per event",
    });
    assert.deepEqual(logRecords, [
      {
        level: "error",
        message: "processBatch returned 1 results for 2 events; it must return an array of one result per event",
      },
    ]);
  });

  test("non-array result traps", () => {
    const { handler } = batchPlugin(() => undefined);

    assert.throws(() => handler.process([event("a")]), {
      message: /^processBatch returned undefined for 1 events/,
    });
    assert.equal(logRecords.length, 1);
  });

  test("exception is logged and traps", () => {
    const { handler } = batchPlugin(() => {
      throw new Reject("whole batch");
    });

    assert.throws(() => handler.process([event("a")]), { message: "whole batch" });
    assert.equal(logRecords.length, 1);
    assert.equal(logRecords[0].level, "error");
    assert.match(logRecords[0].message, /^processBatch threw an exception: Reject: whole batch/);
  });

  test("empty batch reaches processBatch", () => {
    const { handler, calls } = batchPlugin(() => []);

    assert.deepEqual(handler.process([]), []);
    assert.deepEqual(calls.batches, [0]);
  });
});
