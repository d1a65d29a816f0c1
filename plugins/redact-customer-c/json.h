/*
 * A small JSON (RFC 8259) parser and compact writer, as strict as serde_json, so that this
 * plugin accepts and rejects the same values as the Rust redact-customer. Invalid UTF-8,
 * unpaired surrogate escapes, control characters in strings, trailing commas, leading
 * zeros, numbers that overflow a double, and nesting deeper than 127 arrays or objects
 * are all invalid. A repeated object key keeps its last value.
 *
 * Values live in an arena that the caller resets between documents. Numbers keep their
 * source text, so the writer reproduces them exactly. Strings hold their decoded UTF-8
 * bytes, which may include NUL, so every string carries a length.
 */
#ifndef REDACT_JSON_H
#define REDACT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest nesting of arrays and objects that json_parse accepts, as in serde_json. */
#define JSON_MAX_DEPTH 127

typedef struct json_arena_chunk json_arena_chunk;

/* Bump allocator for parsed values. Allocation failure aborts. */
typedef struct json_arena {
    json_arena_chunk *chunks;
} json_arena;

/* Returns `size` bytes of arena memory, aligned to 16 bytes. */
void *json_arena_alloc(json_arena *arena, size_t size);

/* Frees every chunk but the largest, which later documents reuse. */
void json_arena_reset(json_arena *arena);

/* Frees all memory of the arena. */
void json_arena_free(json_arena *arena);

typedef enum json_kind {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_kind;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
    json_kind kind;
    union {
        /* JSON_NUMBER: the number's text as it appears in JSON. JSON_STRING: the decoded bytes. */
        struct {
            const char *data;
            size_t len;
        } text;
        struct {
            json_value *items;
            size_t count;
        } array;
        struct {
            json_member *members;
            size_t count;
            size_t capacity;
        } object;
    } as;
};

struct json_member {
    const char *key;
    size_t key_len;
    json_value value;
};

/*
 * Parses `len` bytes of JSON into `out`, allocating from `arena`. Returns false when the
 * input is not valid JSON. The result may point into `text`, so `text` must outlive it.
 */
bool json_parse(json_arena *arena, const uint8_t *text, size_t len, json_value *out);

/* Returns the member value named `key` of an object, or NULL when absent or not an object. */
json_value *json_object_get(json_value *object, const char *key);

/* Removes the member `key` of an object into `removed`. Returns false when it is absent. */
bool json_object_remove(json_value *object, const char *key, json_value *removed);

/*
 * Sets the member `key` of an object to `value`, replacing an existing member or appending
 * a new one. `key` must outlive the value, so pass a literal or arena memory.
 */
void json_object_set(json_arena *arena, json_value *object, const char *key, json_value value);

/* Returns a string value of `len` bytes at `data`, which must outlive the value. */
json_value json_string(const char *data, size_t len);

/* Returns a number value for `number`, with its text in the arena. */
json_value json_integer(json_arena *arena, int64_t number);

/* Tells whether `value` is a string equal to the NUL-terminated `text`. */
bool json_string_equals(const json_value *value, const char *text);

/* A growable byte buffer. Allocation failure aborts. */
typedef struct json_buffer {
    uint8_t *data;
    size_t len;
    size_t capacity;
} json_buffer;

/* Grows the buffer by `len` bytes and returns where they start, for the caller to fill. */
uint8_t *json_buffer_extend(json_buffer *buffer, size_t len);

void json_buffer_append(json_buffer *buffer, const void *bytes, size_t len);

/* Appends the compact JSON text of `value` to `out`. */
void json_write(json_buffer *out, const json_value *value);

#endif /* REDACT_JSON_H */
