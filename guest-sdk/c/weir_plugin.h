/*
 * C SDK for writing Weir plugins.
 *
 * A Weir plugin is a WebAssembly component that implements the world `plugin` of the
 * package `weir:plugin@0.1.0` (guest-sdk/wit/plugin.wit). This header hides the bindings
 * that `wit-bindgen c` generates behind two functions that the plugin defines:
 *
 *     #include "weir_plugin.h"
 *
 *     bool weir_init(const weir_config *config, weir_error *error) {
 *         if (weir_config_count(config) != 0)
 *             return weir_fail(error, "unknown config key `%s`", weir_config_key(config, 0));
 *         return true;
 *     }
 *
 *     void weir_process(const weir_event *event, weir_result *result) {
 *         if (event->value.data == NULL) {
 *             weir_reject(result, "tombstones are not accepted");
 *             return;
 *         }
 *         weir_output output = weir_output_from_event(event);
 *         weir_emit(result, &output);
 *     }
 *
 * `guest-sdk/c/build.sh SRC_DIR OUT.wasm` compiles the plugin with this SDK into a
 * component.
 *
 * Memory: everything the SDK passes to the plugin (config, events and the bytes they point
 * to) is borrowed and valid only until the callback returns. weir_emit copies what it
 * needs, so outputs may point at stack buffers or at the event. Out of memory traps the
 * component instance, as it does in the Rust SDK.
 *
 * Text: WIT strings are UTF-8. Topics, header names, config entries, failure reasons and
 * log messages must be valid UTF-8, because the host traps the instance otherwise.
 */
#ifndef WEIR_PLUGIN_H
#define WEIR_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A byte string that may be absent. `data == NULL` means absent (no key, a tombstone's
 * value, a header without a value, no topic). A present but empty string has a non-NULL
 * `data` and `len == 0`.
 */
typedef struct weir_bytes {
    const uint8_t *data;
    size_t len;
} weir_bytes;

/* The absent byte string. */
#define WEIR_NONE ((weir_bytes){NULL, 0})

/* Returns a view of the NUL-terminated `text`, without its NUL, or WEIR_NONE for NULL. */
weir_bytes weir_bytes_from_string(const char *text);

/* Tells whether `bytes` is present and equal to the NUL-terminated `text`. */
bool weir_bytes_equal(weir_bytes bytes, const char *text);

/* A record header. Kafka allows a header without a value, so `value.data` may be NULL. */
typedef struct weir_header {
    weir_bytes name;
    weir_bytes value;
} weir_header;

/* One event read from a source partition. */
typedef struct weir_event {
    weir_bytes topic;
    uint32_t partition;
    int64_t offset;
    bool has_timestamp;
    /* Milliseconds since the Unix epoch, when `has_timestamp` is true. */
    int64_t timestamp_ms;
    weir_bytes key;
    /* A tombstone has `value.data == NULL`. */
    weir_bytes value;
    const weir_header *headers;
    size_t header_count;
} weir_event;

/* One event produced by a plugin. */
typedef struct weir_output {
    /* Target topic. Absent means the step's default: the next step, or the sink's topic. */
    weir_bytes topic;
    weir_bytes key;
    weir_bytes value;
    const weir_header *headers;
    size_t header_count;
} weir_output;

/* Returns an output with the event's key, value and headers and no topic. */
weir_output weir_output_from_event(const weir_event *event);

/*
 * The step's `config` map. Scalars arrive as their text (`true`, `42`, `orders`) and nested
 * values as JSON text. When the host sends a key more than once, the last value wins. Keys
 * are sorted by their bytes. Keys and values are NUL-terminated copies, so a key or value
 * that contains a NUL character appears cut at it, unless read with the `_bytes` functions.
 */
typedef struct weir_config weir_config;

/* Returns the number of distinct keys. */
size_t weir_config_count(const weir_config *config);

/* Returns the key at `index` (0 <= index < weir_config_count), or NULL past the end. */
const char *weir_config_key(const weir_config *config, size_t index);

/* Returns the value at `index`, or NULL past the end. */
const char *weir_config_value(const weir_config *config, size_t index);

/* Returns the value of `key`, or NULL when the key is absent. */
const char *weir_config_get(const weir_config *config, const char *key);

/* Returns the key at `index` with its exact length, or WEIR_NONE past the end. */
weir_bytes weir_config_key_bytes(const weir_config *config, size_t index);

/* Returns the value of `key` with its exact length, or WEIR_NONE when the key is absent. */
weir_bytes weir_config_get_bytes(const weir_config *config, const char *key);

/* The error message of a failed weir_init. */
typedef struct weir_error weir_error;

/*
 * Sets the init error message with printf formatting, and returns false so that weir_init
 * can `return weir_fail(error, ...)`. The host reports the message when the load or swap
 * fails, so it should name the config key at fault.
 */
bool weir_fail(weir_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The outputs of one event, or its failure. */
typedef struct weir_result weir_result;

/*
 * Adds an output for the event. Emitting nothing filters the event out, and several
 * outputs fan it out. The bytes are copied (or, when they are the event's own key, value
 * or headers, handed over without a copy), so the output may point at temporary memory.
 */
void weir_emit(weir_result *result, const weir_output *output);

/*
 * Fails the event as a poison event: Weir sends it to the dead-letter topic, or pauses the
 * partition. Any outputs emitted for the event are dropped. The reason uses printf
 * formatting. The last failure set for an event wins.
 */
void weir_reject(weir_result *result, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Fails the event as a transient fault: Weir retries it under the pipeline's retry policy. */
void weir_retry(weir_result *result, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Log levels of the host's log. */
typedef enum weir_log_level {
    WEIR_LOG_TRACE = 0,
    WEIR_LOG_DEBUG = 1,
    WEIR_LOG_INFO = 2,
    WEIR_LOG_WARN = 3,
    WEIR_LOG_ERROR = 4,
} weir_log_level;

/*
 * Writes a message to the host's log, which tags it with the pipeline, step and offset.
 * The message uses printf formatting.
 */
void weir_log(weir_log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Defined by the plugin: prepares it from the step's configuration.
 *
 * The host calls it once on each new component instance, before any event; a swap gets a
 * new instance. Return true on success, or return weir_fail(error, ...). Should a host
 * call it again on the same instance, a failure must leave the plugin's previous state as
 * it was, because the SDK keeps calling weir_process after an earlier success.
 */
bool weir_init(const weir_config *config, weir_error *error);

/*
 * Defined by the plugin: processes one event. The host passes batches in offset order and
 * the SDK calls this once per event, in order. Report the outcome with weir_emit,
 * weir_reject or weir_retry. Before a successful weir_init, the SDK rejects every event
 * with "plugin not initialised" and does not call this function.
 */
void weir_process(const weir_event *event, weir_result *result);

#ifdef __cplusplus
}
#endif

#endif /* WEIR_PLUGIN_H */
