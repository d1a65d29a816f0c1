/*
 * Redacts customer and card data and converts amounts to minor units, with the same rules
 * and failure reasons as the Rust plugin in plugins/redact-customer:
 *
 * - `customer.email` and `payment.card_expiry` are replaced by the mask.
 * - `payment.card_number` becomes the mask, a hyphen and the last four digits. A card
 *   number that is not a string of digits, spaces and hyphens with at least four digits
 *   rejects the event.
 * - The decimal strings `total`, `amount` and each line's `unit_price` are replaced by the
 *   integers `total_minor`, `amount_minor` and `unit_price_minor` in minor units of
 *   `currency`: JPY has no minor unit, EUR, USD and GBP have two decimal places. A missing
 *   or unsupported currency, a value that is not a decimal string, or more fraction digits
 *   than the currency allows rejects the event.
 *
 * A value that is not valid JSON rejects the event. Valid JSON that is not an object, and
 * an object without these fields, passes through unchanged.
 */
#include "redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

redactor redactor_new(const char *mask, size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL)
        abort();
    if (len != 0)
        memcpy(copy, mask, len);
    copy[len] = '\0';
    return (redactor){.mask = copy, .mask_len = len};
}

void redactor_free(redactor *redactor) {
    free(redactor->mask);
    json_arena_free(&redactor->arena);
    free(redactor->output.data);
    free(redactor->reason.data);
    memset(redactor, 0, sizeof *redactor);
}

static redact_outcome reject(redactor *redactor, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static redact_outcome reject(redactor *redactor, const char *format, ...) {
    va_list args;
    va_start(args, format);
    va_list measure;
    va_copy(measure, args);
    int needed = vsnprintf(NULL, 0, format, measure);
    va_end(measure);

    json_buffer *reason = &redactor->reason;
    reason->len = 0;
    size_t size = needed < 0 ? 1 : (size_t)needed + 1;
    char *text = (char *)json_buffer_extend(reason, size);
    text[0] = '\0';
    if (needed >= 0)
        vsnprintf(text, size, format, args);
    va_end(args);
    return REDACT_REJECTED;
}

/* ---- Card fields ---- */

static const char CARD_NUMBER_INVALID[] = "`payment.card_number` is not a card number";

/* Writes the last four digits of a card number into `last_four`, or returns false. */
static bool last_four_digits(const json_value *card_number, char last_four[4]) {
    if (card_number->kind != JSON_STRING)
        return false;

    size_t digits = 0;
    for (size_t i = 0; i < card_number->as.text.len; i++) {
        char c = card_number->as.text.data[i];
        if (c >= '0' && c <= '9') {
            last_four[0] = last_four[1];
            last_four[1] = last_four[2];
            last_four[2] = last_four[3];
            last_four[3] = c;
            digits++;
        } else if (c != ' ' && c != '-') {
            return false;
        }
    }
    return digits >= 4;
}

/* Masks the customer email and the card fields. Sets `changed` when a field changed. */
static bool redact_fields(redactor *redactor, json_value *document, bool *changed) {
    json_value mask = json_string(redactor->mask, redactor->mask_len);

    json_value *email = json_object_get(json_object_get(document, "customer"), "email");
    if (email != NULL) {
        *email = mask;
        *changed = true;
    }

    json_value *payment = json_object_get(document, "payment");
    if (payment == NULL || payment->kind != JSON_OBJECT)
        return true;

    json_value *card_number = json_object_get(payment, "card_number");
    if (card_number != NULL) {
        char last_four[4];
        if (!last_four_digits(card_number, last_four))
            return false;

        size_t len = redactor->mask_len + 5;
        char *masked = json_arena_alloc(&redactor->arena, len);
        memcpy(masked, redactor->mask, redactor->mask_len);
        masked[redactor->mask_len] = '-';
        memcpy(masked + redactor->mask_len + 1, last_four, 4);
        *card_number = json_string(masked, len);
        *changed = true;
    }

    json_value *card_expiry = json_object_get(payment, "card_expiry");
    if (card_expiry != NULL) {
        *card_expiry = mask;
        *changed = true;
    }
    return true;
}

/* ---- Amounts ---- */

typedef enum decimal_status {
    DECIMAL_OK,
    DECIMAL_NOT_DECIMAL,
    DECIMAL_TOO_MANY_FRACTION_DIGITS,
    DECIMAL_OUT_OF_RANGE,
} decimal_status;

static bool all_digits(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
    }
    return true;
}

/* Adds one decimal digit to `number`, or returns false when the result overflows int64. */
static bool push_digit(int64_t *number, int digit) {
    if (*number > (INT64_MAX - digit) / 10)
        return false;
    *number = *number * 10 + digit;
    return true;
}

/*
 * Converts a decimal string such as "129.90" to an integer count of minor units. Like the
 * Rust plugin, the magnitude must fit in int64 before the sign applies, so the most
 * negative int64 is out of range. `fraction_digits` is set for the error message.
 */
static decimal_status to_minor_units(const json_value *decimal, unsigned exponent,
                                     int64_t *minor, size_t *fraction_digits) {
    if (decimal->kind != JSON_STRING)
        return DECIMAL_NOT_DECIMAL;

    const char *text = decimal->as.text.data;
    size_t len = decimal->as.text.len;
    bool negative = len > 0 && text[0] == '-';
    if (negative) {
        text++;
        len--;
    }

    const char *point = memchr(text, '.', len);
    size_t whole_len = point == NULL ? len : (size_t)(point - text);
    const char *fraction = point == NULL ? text + len : point + 1;
    size_t fraction_len = point == NULL ? 0 : len - whole_len - 1;

    if (whole_len == 0 || !all_digits(text, whole_len) || !all_digits(fraction, fraction_len) ||
        (point != NULL && fraction_len == 0))
        return DECIMAL_NOT_DECIMAL;

    *fraction_digits = fraction_len;
    if (fraction_len > exponent)
        return DECIMAL_TOO_MANY_FRACTION_DIGITS;

    int64_t magnitude = 0;
    for (size_t i = 0; i < whole_len; i++) {
        if (!push_digit(&magnitude, text[i] - '0'))
            return DECIMAL_OUT_OF_RANGE;
    }
    for (size_t i = 0; i < exponent; i++) {
        int digit = i < fraction_len ? fraction[i] - '0' : 0;
        if (!push_digit(&magnitude, digit))
            return DECIMAL_OUT_OF_RANGE;
    }

    *minor = negative ? -magnitude : magnitude;
    return DECIMAL_OK;
}

/* Rejects the event for a field whose decimal could not be converted. */
static redact_outcome reject_decimal(redactor *redactor, decimal_status status,
                                     const char *field, size_t index, unsigned exponent,
                                     size_t fraction_digits) {
    char name[64];
    if (strcmp(field, "unit_price") == 0)
        snprintf(name, sizeof name, "lines[%zu].unit_price", index);
    else
        snprintf(name, sizeof name, "%s", field);

    switch (status) {
    case DECIMAL_TOO_MANY_FRACTION_DIGITS:
        return reject(redactor, "`%s` has %zu fraction digits but the currency allows %u", name,
                      fraction_digits, exponent);
    case DECIMAL_OUT_OF_RANGE:
        return reject(redactor, "`%s` is out of range for minor units", name);
    default:
        return reject(redactor, "`%s` is not a decimal string", name);
    }
}

static bool has_amounts(json_value *document) {
    if (json_object_get(document, "total") != NULL || json_object_get(document, "amount") != NULL)
        return true;

    json_value *lines = json_object_get(document, "lines");
    if (lines == NULL || lines->kind != JSON_ARRAY)
        return false;
    for (size_t i = 0; i < lines->as.array.count; i++) {
        if (json_object_get(&lines->as.array.items[i], "unit_price") != NULL)
            return true;
    }
    return false;
}

/*
 * Replaces `total`, `amount` and each line's `unit_price` with their minor-unit integers.
 * Sets `changed` when the document has any of them. Returns REDACT_REJECTED on a problem,
 * with the document partly converted, and REDACT_UNCHANGED otherwise.
 */
static redact_outcome convert_amounts(redactor *redactor, json_value *document, bool *changed) {
    if (!has_amounts(document))
        return REDACT_UNCHANGED;

    /* The number of decimal places of the currency's minor unit (ISO 4217). */
    unsigned exponent;
    json_value *currency = json_object_get(document, "currency");
    if (currency == NULL)
        return reject(redactor, "`currency` is missing, so amounts cannot be converted");
    if (currency->kind != JSON_STRING)
        return reject(redactor, "`currency` is not a string");
    if (json_string_equals(currency, "EUR") || json_string_equals(currency, "USD") ||
        json_string_equals(currency, "GBP")) {
        exponent = 2;
    } else if (json_string_equals(currency, "JPY")) {
        exponent = 0;
    } else {
        return reject(redactor,
                      "currency `%.*s` is not supported; expected EUR, USD, GBP or JPY",
                      (int)(currency->as.text.len > INT32_MAX ? INT32_MAX : currency->as.text.len),
                      currency->as.text.data);
    }

    static const char *const top_level[][2] = {
        {"total", "total_minor"},
        {"amount", "amount_minor"},
    };
    for (size_t i = 0; i < 2; i++) {
        json_value decimal;
        if (!json_object_remove(document, top_level[i][0], &decimal))
            continue;
        int64_t minor = 0;
        size_t fraction_digits = 0;
        decimal_status status = to_minor_units(&decimal, exponent, &minor, &fraction_digits);
        if (status != DECIMAL_OK)
            return reject_decimal(redactor, status, top_level[i][0], 0, exponent,
                                  fraction_digits);
        json_object_set(&redactor->arena, document, top_level[i][1],
                        json_integer(&redactor->arena, minor));
    }

    /* Looked up after the inserts above, which may move the document's members. */
    json_value *lines = json_object_get(document, "lines");
    if (lines != NULL && lines->kind == JSON_ARRAY) {
        for (size_t index = 0; index < lines->as.array.count; index++) {
            json_value *line = &lines->as.array.items[index];
            json_value decimal;
            if (line->kind != JSON_OBJECT || !json_object_remove(line, "unit_price", &decimal))
                continue;
            int64_t minor = 0;
            size_t fraction_digits = 0;
            decimal_status status = to_minor_units(&decimal, exponent, &minor, &fraction_digits);
            if (status != DECIMAL_OK)
                return reject_decimal(redactor, status, "unit_price", index, exponent,
                                      fraction_digits);
            json_object_set(&redactor->arena, line, "unit_price_minor",
                            json_integer(&redactor->arena, minor));
        }
    }

    *changed = true;
    return REDACT_UNCHANGED;
}

/* ---- Entry point ---- */

redact_outcome redact_value(redactor *redactor, const uint8_t *value, size_t len) {
    json_arena_reset(&redactor->arena);

    json_value document;
    if (!json_parse(&redactor->arena, value, len, &document))
        return reject(redactor, "value is not valid JSON");
    if (document.kind != JSON_OBJECT)
        return REDACT_UNCHANGED;

    bool changed = false;
    if (!redact_fields(redactor, &document, &changed))
        return reject(redactor, "%s", CARD_NUMBER_INVALID);
    if (convert_amounts(redactor, &document, &changed) == REDACT_REJECTED)
        return REDACT_REJECTED;
    if (!changed)
        return REDACT_UNCHANGED;

    redactor->output.len = 0;
    json_write(&redactor->output, &document);
    return REDACT_CHANGED;
}
