// JavaScript SDK for writing Weir plugins with ComponentizeJS.
//
// A plugin module imports this file as `weir-plugin` (build.sh bundles it in) and exports
// the interface `handler` of the WIT world `plugin` (guest-sdk/wit/plugin.wit):
//
//     import { Reject, exportPlugin, outputFrom } from "weir-plugin";
//
//     class PassThrough {
//       static init(config) {
//         return new PassThrough();
//       }
//
//       process(event) {
//         return [outputFrom(event)];
//       }
//     }
//
//     export const handler = exportPlugin(PassThrough);
//
// ComponentizeJS maps an exported WIT interface to an ES module export named after the
// interface, so the export must be called `handler`. WIT values arrive as plain objects:
// `list<u8>` is a Uint8Array, `option<T>` is the value or undefined, `s64` is a BigInt.

import { log as hostLog } from "weir:plugin/log@0.1.0";

/** The reason given for every event processed before a successful `init`. */
export const NOT_INITIALISED = "plugin not initialised";

/**
 * Base class of the failures that `process` may throw for one event. Any other exception
 * is a bug in the plugin: the SDK logs it and traps the instance, like a Rust panic.
 */
export class Failure extends Error {
  constructor(message) {
    super(message);
    this.name = "Failure";
  }
}

/** A transient fault: Weir retries the event under the pipeline's retry policy. */
export class Retry extends Failure {
  constructor(message) {
    super(message);
    this.name = "Retry";
  }
}

/** A poison event: Weir sends it to the dead-letter topic, or pauses the partition. */
export class Reject extends Failure {
  constructor(message) {
    super(message);
    this.name = "Reject";
  }
}

/**
 * The step's `config` map. Scalar values arrive as their text and nested values as JSON
 * text. When the host sends a key more than once, the last value wins.
 */
export class Config {
  #entries = new Map();

  /** Builds a configuration from `{key, value}` entries or `[key, value]` pairs. */
  constructor(entries = []) {
    for (const entry of entries) {
      const [key, value] = Array.isArray(entry) ? entry : [entry.key, entry.value];
      this.#entries.set(String(key), String(value));
    }
  }

  /** Returns the value of `key`, or undefined when the key is absent. */
  get(key) {
    return this.#entries.get(key);
  }

  /** Returns the value of `key`, or throws an Error whose message names the missing key. */
  require(key) {
    const value = this.#entries.get(key);
    if (value === undefined) {
      throw new Error(`missing required config key \`${key}\``);
    }
    return value;
  }

  /** Returns the keys in lexicographic order, for example to reject unknown keys. */
  keys() {
    return [...this.#entries.keys()].sort();
  }

  /** The number of distinct keys. */
  get size() {
    return this.#entries.size;
  }
}

/**
 * Returns an output with the key, value and headers of `event` and no topic, so it goes to
 * the step's default target. Fields given in `changes` replace those of the event, and a
 * string key or value is encoded as UTF-8.
 */
export function outputFrom(event, changes = {}) {
  return {
    topic: undefined,
    key: event.key,
    value: event.value,
    headers: event.headers,
    ...changes,
  };
}

const utf8Encoder = new TextEncoder();
// `ignoreBOM` keeps a leading byte order mark in the text, so JSON.parse rejects it as
// serde_json does, instead of the decoder dropping it silently.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Encodes a string as UTF-8 bytes. */
export function encodeText(text) {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8 bytes into a string, or throws a TypeError when they are not valid UTF-8. */
export function decodeText(bytes) {
  return utf8Decoder.decode(bytes);
}

function writeLog(level, message) {
  hostLog(level, String(message));
}

/**
 * Structured logging into the host's log. The host tags each message with the pipeline,
 * the step and the offset of the event being processed.
 */
export const log = {
  trace: (message) => writeLog("trace", message),
  debug: (message) => writeLog("debug", message),
  info: (message) => writeLog("info", message),
  warn: (message) => writeLog("warn", message),
  error: (message) => writeLog("error", message),
};

function describe(error) {
  if (error instanceof Error) {
    return error.stack ? `${error}\n${error.stack}` : String(error);
  }
  return String(error);
}

/** Converts a string or bytes field of an output into the Uint8Array that WIT expects. */
function toBytes(value, field) {
  if (value === undefined || value === null) {
    return undefined;
  }
  // The bindings create the Uint8Arrays of events in another realm, where `instanceof
  // Uint8Array` is false, so test for any typed array or DataView instead.
  if (ArrayBuffer.isView(value)) {
    return value;
  }
  if (typeof value === "string") {
    return encodeText(value);
  }
  throw new TypeError(`output ${field} must be a Uint8Array, a string or undefined, not ${typeof value}`);
}

function toWitOutput(output) {
  if (output === null || typeof output !== "object") {
    throw new TypeError(`an output must be an object, not ${output === null ? "null" : typeof output}`);
  }
  const headers = (output.headers ?? []).map((header) => ({
    name: header.name,
    value: toBytes(header.value, `header \`${header.name}\``),
  }));
  return {
    topic: output.topic ?? undefined,
    key: toBytes(output.key, "key"),
    value: toBytes(output.value, "value"),
    headers,
  };
}

/**
 * Runs one event through `plugin.process` and returns its WIT result. A thrown `Retry` or
 * `Reject` becomes the event's failure, and any other exception is logged and rethrown,
 * which traps the instance so the host retries the event on a fresh one.
 */
function processEvent(plugin, event) {
  try {
    const outputs = plugin.process(event);
    if (!Array.isArray(outputs)) {
      throw new TypeError(`process must return an array of outputs, not ${typeof outputs}`);
    }
    return { tag: "ok", val: outputs.map(toWitOutput) };
  } catch (error) {
    return failureResult(error);
  }
}

function failureResult(error) {
  if (error instanceof Retry) {
    return { tag: "err", val: { tag: "retry", val: error.message } };
  }
  if (error instanceof Reject) {
    return { tag: "err", val: { tag: "reject", val: error.message } };
  }
  writeLog("error", `plugin threw an unexpected exception: ${describe(error)}`);
  throw error;
}

/**
 * Builds the `handler` export from a plugin class. `pluginClass.init(config)` receives a
 * `Config` and returns the plugin instance, or throws to fail the load with the message of
 * the exception. The instance's `process(event)` returns an array of outputs (empty to
 * filter the event out) or throws `Retry` or `Reject`. An instance may also define
 * `processBatch(events)`, which must return one WIT result (`{tag: "ok", val: outputs}` or
 * `{tag: "err", val: {tag: "retry" | "reject", val: message}}`) per event, in order.
 *
 * A new `init` replaces the instance only when it succeeds, so a failed reconfiguration
 * keeps the previous one. Before a successful `init`, every event fails with `reject`.
 */
export function exportPlugin(pluginClass) {
  if (typeof pluginClass?.init !== "function") {
    throw new TypeError("exportPlugin needs a class or object with a static `init(config)` method");
  }
  let instance;

  return {
    // Returns the WIT result as an object: the ComponentizeJS 0.23 bindings turn a thrown
    // Error into a trap, not into the `err` case, unless it has a `payload` property.
    init(entries) {
      let created;
      try {
        created = pluginClass.init(new Config(entries));
      } catch (error) {
        return { tag: "err", val: error instanceof Error ? error.message : String(error) };
      }
      if (created === null || typeof created !== "object" || typeof created.process !== "function") {
        return { tag: "err", val: "init must return an object with a `process(event)` method" };
      }
      instance = created;
      return { tag: "ok", val: undefined };
    },

    process(events) {
      if (instance === undefined) {
        return events.map(() => ({ tag: "err", val: { tag: "reject", val: NOT_INITIALISED } }));
      }
      if (typeof instance.processBatch !== "function") {
        return events.map((event) => processEvent(instance, event));
      }

      // A throw from processBatch cannot be tied to one event, so it traps like any other
      // bug, and the host replays the batch one event at a time to find the cause. Logging
      // it first matters, because the component has no standard output of its own.
      let results;
      try {
        results = instance.processBatch(events);
      } catch (error) {
        writeLog("error", `processBatch threw an exception: ${describe(error)}`);
        throw error;
      }
      if (!Array.isArray(results) || results.length !== events.length) {
        const found = Array.isArray(results) ? `${results.length} results` : typeof results;
        const message = `processBatch returned ${found} for ${events.length} events; it must return an array of one result per event`;
        writeLog("error", message);
        throw new Error(message);
      }
      return results.map((result) =>
        result.tag === "ok" ? { tag: "ok", val: result.val.map(toWitOutput) } : result,
      );
    },
  };
}
