/*
 * The redaction of one event value, apart from the SDK so that native tests can call it.
 * The rules are those of the Rust plugin in plugins/redact-customer; see redact.c.
 */
#ifndef REDACT_H
#define REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* The replacement text when the step sets no `mask`. */
#define REDACT_DEFAULT_MASK "REDACTED"

typedef struct redactor {
    char *mask;
    size_t mask_len;
    json_arena arena;
    /* The re-serialised value after REDACT_CHANGED. */
    json_buffer output;
    /* The NUL-terminated reason after REDACT_REJECTED. */
    json_buffer reason;
} redactor;

typedef enum redact_outcome {
    /* The value passes through unchanged: not a JSON object, or nothing to redact. */
    REDACT_UNCHANGED,
    /* `output` contains the new value. */
    REDACT_CHANGED,
    /* The event fails with `reject`, for the reason in `reason`. */
    REDACT_REJECTED,
} redact_outcome;

/* Returns a redactor that uses the `len` bytes of `mask`, which it copies. */
redactor redactor_new(const char *mask, size_t len);

void redactor_free(redactor *redactor);

/* Redacts one event value. The buffers stay valid until the next call. */
redact_outcome redact_value(redactor *redactor, const uint8_t *value, size_t len);

#endif /* REDACT_H */
