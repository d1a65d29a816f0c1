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
    *redactor = (redactor){0};
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
    if (needed < 0) {
        json_buffer_append(reason, "", 1);
    } else {
        json_buffer_append(reason, NULL, (size_t)needed + 1);
        vsnprintf((char *)reason->data, (size_t)needed + 1, format, args);
    }
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
        json_buffer text = {0};
        /* The arena owns the masked number, so copy it there rather than keep a buffer. */
        char *masked = NULL;
        json_value scratch = json_integer(&redactor->arena, 0);
        (void)scratch;
        (void)text;
        masked = (char *)json_string_copy(&redactor->arena, NULL, len).as.text.data;
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
