/*
 * Native unit tests of redact.c and json.c, the same cases as the Rust plugin's unit tests
 * plus the parser's limits. run.sh builds them with AddressSanitizer and UBSan. The end of
 * the run prints "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json.h"
#include "../redact.h"

static int passed = 0;
static int failed = 0;

static void check(bool condition, const char *test, const char *what) {
    if (condition) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s: %s\n", test, what);
    }
}

static redact_outcome run(redactor *r, const char *value) {
    return redact_value(r, (const uint8_t *)value, strlen(value));
}

/* Tells whether the last output contains `fragment`. */
static bool output_contains(const redactor *r, const char *fragment) {
    size_t len = strlen(fragment);
    for (size_t i = 0; i + len <= r->output.len; i++) {
        if (memcmp(r->output.data + i, fragment, len) == 0)
            return true;
    }
    return false;
}

static void expect_reject(const char *test, const char *value, const char *reason) {
    redactor r = redactor_new(REDACT_DEFAULT_MASK, strlen(REDACT_DEFAULT_MASK));
    redact_outcome outcome = run(&r, value);
    check(outcome == REDACT_REJECTED, test, "outcome is REDACT_REJECTED");
    if (outcome == REDACT_REJECTED && strcmp((const char *)r.reason.data, reason) != 0) {
        fprintf(stderr, "  reason: %s\n  expected: %s\n", (const char *)r.reason.data, reason);
        check(false, test, "reason matches");
    }
    redactor_free(&r);
}

static void expect_output(const char *test, const char *value, const char *output) {
    redactor r = redactor_new(REDACT_DEFAULT_MASK, strlen(REDACT_DEFAULT_MASK));
    redact_outcome outcome = run(&r, value);
    check(outcome == REDACT_CHANGED, test, "outcome is REDACT_CHANGED");
    if (outcome == REDACT_CHANGED &&
        (r.output.len != strlen(output) || memcmp(r.output.data, output, r.output.len) != 0)) {
        fprintf(stderr, "  output: %.*s\n  expected: %s\n", (int)r.output.len,
                (const char *)r.output.data, output);
        check(false, test, "output matches");
    }
    redactor_free(&r);
}

static void expect_unchanged(const char *test, const char *value) {
    redactor r = redactor_new(REDACT_DEFAULT_MASK, strlen(REDACT_DEFAULT_MASK));
    check(run(&r, value) == REDACT_UNCHANGED, test, value);
    redactor_free(&r);
}

static const char ORDER_PLACED[] =
    "{\"type\":\"OrderPlaced\",\"order_id\":\"ord-00000042\","
    "\"customer\":{\"id\":\"cus-00017\",\"email\":\"anna.berg@example.com\",\"name\":\"Anna Berg\"},"
    "\"payment\":{\"method\":\"card\",\"card_number\":\"4111111111111111\",\"card_expiry\":\"08/27\"},"
    "\"currency\":\"EUR\",\"total\":\"129.90\",\"lines\":["
    "{\"sku\":\"MUG-350\",\"quantity\":2,\"unit_price\":\"12.5\"},"
    "{\"sku\":\"TEE-M\",\"quantity\":1,\"unit_price\":\"104.90\"}]}";

static void order_placed_redacted(void) {
    expect_output("order_placed_redacted", ORDER_PLACED,
                  "{\"type\":\"OrderPlaced\",\"order_id\":\"ord-00000042\","
                  "\"customer\":{\"id\":\"cus-00017\",\"email\":\"REDACTED\",\"name\":\"Anna Berg\"},"
                  "\"payment\":{\"method\":\"card\",\"card_number\":\"REDACTED-1111\","
                  "\"card_expiry\":\"REDACTED\"},"
                  "\"currency\":\"EUR\",\"lines\":["
                  "{\"sku\":\"MUG-350\",\"quantity\":2,\"unit_price_minor\":1250},"
                  "{\"sku\":\"TEE-M\",\"quantity\":1,\"unit_price_minor\":10490}],"
                  "\"total_minor\":12990}");
}

static void payment_captured_redacted(void) {
    expect_output("payment_captured_redacted",
                  "{\"type\":\"PaymentCaptured\",\"currency\":\"JPY\",\"amount\":\"1200\","
                  "\"payment\":{\"card_number\":\"5500 0000 0000 0004\",\"card_expiry\":\"11/26\"}}",
                  "{\"type\":\"PaymentCaptured\",\"currency\":\"JPY\","
                  "\"payment\":{\"card_number\":\"REDACTED-0004\",\"card_expiry\":\"REDACTED\"},"
                  "\"amount_minor\":1200}");
}

static void configured_mask_used(void) {
    redactor r = redactor_new("***", 3);
    check(run(&r, ORDER_PLACED) == REDACT_CHANGED, "configured_mask_used", "changed");
    check(output_contains(&r, "\"email\":\"***\""), "configured_mask_used", "email masked");
    check(output_contains(&r, "\"card_number\":\"***-1111\""), "configured_mask_used",
          "card number masked");
    redactor_free(&r);
}

static void decimals_convert(void) {
    static const struct {
        const char *currency;
        const char *decimal;
        const char *minor;
    } cases[] = {
        {"EUR", "129.90", "12990"}, {"EUR", "129.9", "12990"}, {"EUR", "129", "12900"},
        {"EUR", "0.05", "5"},       {"EUR", "-3.50", "-350"},  {"JPY", "1200", "1200"},
        {"EUR", "-0.00", "0"},      {"EUR", "0012.30", "1230"},
        {"JPY", "9223372036854775807", "9223372036854775807"},
        {"EUR", "92233720368547758.07", "9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[128], expected[128];
        snprintf(value, sizeof value, "{\"currency\":\"%s\",\"total\":\"%s\"}", cases[i].currency,
                 cases[i].decimal);
        snprintf(expected, sizeof expected, "{\"currency\":\"%s\",\"total_minor\":%s}",
                 cases[i].currency, cases[i].minor);
        expect_output("decimals_convert", value, expected);
    }
}

static void invalid_decimals_reject(void) {
    static const char *const cases[] = {
        "\"12.\"", "\".5\"", "\"1,50\"", "\"+1.50\"", "\"\"", "\"-\"", "\"1.2.3\"", "12.5", "null",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[64];
        snprintf(value, sizeof value, "{\"currency\":\"EUR\",\"total\":%s}", cases[i]);
        expect_reject("invalid_decimals_reject", value, "`total` is not a decimal string");
    }
    expect_reject("decimal_out_of_range", "{\"currency\":\"EUR\",\"total\":\"99999999999999999999\"}",
                  "`total` is out of range for minor units");
    expect_reject("decimal_out_of_range",
                  "{\"currency\":\"JPY\",\"amount\":\"-9223372036854775808\"}",
                  "`amount` is out of range for minor units");
}

static void fraction_digits_reject(void) {
    expect_reject("excess_fraction_digits",
                  "{\"currency\":\"EUR\",\"total\":\"129.901\"}",
                  "`total` has 3 fraction digits but the currency allows 2");
    expect_reject("jpy_fraction",
                  "{\"currency\":\"JPY\",\"total\":\"1200\",\"lines\":[{\"unit_price\":\"12.5\"}]}",
                  "`lines[0].unit_price` has 1 fraction digits but the currency allows 0");
    expect_reject("line_index_counts_non_objects",
                  "{\"currency\":\"EUR\",\"lines\":[1,{\"sku\":\"a\"},{\"unit_price\":\"x\"}]}",
                  "`lines[2].unit_price` is not a decimal string");
}

static void currency_rejects(void) {
    expect_reject("unknown_currency", "{\"currency\":\"CHF\",\"total\":\"1\"}",
                  "currency `CHF` is not supported; expected EUR, USD, GBP or JPY");
    expect_reject("missing_currency", "{\"type\":\"PaymentCaptured\",\"amount\":\"5.00\"}",
                  "`currency` is missing, so amounts cannot be converted");
    expect_reject("currency_not_string", "{\"currency\":null,\"amount\":\"5.00\"}",
                  "`currency` is not a string");
}

static void invalid_card_number_rejects(void) {
    static const char *const cases[] = {"\"123\"", "\"4111-abcd-1111\"", "4111111111111111",
                                        "\"\"", "null"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[96];
        snprintf(value, sizeof value, "{\"payment\":{\"card_number\":%s}}", cases[i]);
        expect_reject("invalid_card_number", value, "`payment.card_number` is not a card number");
    }
}

static void invalid_json_rejects(void) {
    static const char *const cases[] = {
        "{\"type\":", "", "{\"a\":1,}", "[1,]", "01", "1.", "NaN", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "1e400", "-1e400", "{} x", "\"\\x\"",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_reject("invalid_json", cases[i], "value is not valid JSON");
}

static void unrelated_events_unchanged(void) {
    expect_unchanged("unrelated_event", "{\"type\": \"OrderShipped\", \"carrier\": \"DHL\"}");
    expect_unchanged("array_value", "[1, 2]");
    expect_unchanged("string_value", "\"text\"");
    expect_unchanged("float_value", "1e-400");
}

/* Returns `depth` nested arrays as a heap string. */
static char *nested_arrays(size_t depth) {
    char *text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    return text;
}

static void nesting_depth_limited(void) {
    char *deepest = nested_arrays(JSON_MAX_DEPTH);
    expect_unchanged("depth_127_accepted", deepest);
    free(deepest);

    char *too_deep = nested_arrays(JSON_MAX_DEPTH + 1);
    expect_reject("depth_128_rejected", too_deep, "value is not valid JSON");
    free(too_deep);

    char *far_too_deep = nested_arrays(100000);
    expect_reject("depth_100000_rejected", far_too_deep, "value is not valid JSON");
    free(far_too_deep);
}

static void strings_round_trip(void) {
    expect_output("escapes_round_trip",
                  "{\"customer\":{\"email\":1},\"s\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\n\\u0000\\u001f\"}",
                  "{\"customer\":{\"email\":\"REDACTED\"},"
                  "\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\\\"\\\\/\\n\\u0000\\u001f\"}");
    expect_output("escaped_key_matches", "{\"customer\":{\"em\\u0061il\":\"x\"}}",
                  "{\"customer\":{\"email\":\"REDACTED\"}}");
    expect_output("numbers_kept_verbatim", "{\"customer\":{\"email\":1},\"n\":[1E2,-0,0.50,1e-400]}",
                  "{\"customer\":{\"email\":\"REDACTED\"},\"n\":[1E2,-0,0.50,1e-400]}");
}

static void duplicate_keys_keep_last(void) {
    expect_output("duplicate_email", "{\"customer\":{\"email\":\"a\",\"email\":\"b\"}}",
                  "{\"customer\":{\"email\":\"REDACTED\"}}");
    expect_reject("duplicate_total", "{\"currency\":\"EUR\",\"total\":\"1.00\",\"total\":\"x\"}",
                  "`total` is not a decimal string");

    /* More than 32 members take the sorting path of the duplicate removal. */
    char value[2048];
    size_t len = 0;
    len += (size_t)snprintf(value + len, sizeof value - len, "{");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(value + len, sizeof value - len, "\"f%d\":%d,", i, i);
    snprintf(value + len, sizeof value - len,
             "\"f3\":\"last\",\"customer\":{\"email\":\"a\"},\"f39\":null}");
    redactor r = redactor_new(REDACT_DEFAULT_MASK, strlen(REDACT_DEFAULT_MASK));
    check(run(&r, value) == REDACT_CHANGED, "duplicate_keys_sorted", "changed");
    check(output_contains(&r, "\"f2\":2,\"f3\":\"last\",\"f4\":4"), "duplicate_keys_sorted",
          "last value kept at the first place");
    check(output_contains(&r, "\"f39\":null,\"customer\""), "duplicate_keys_sorted",
          "f39 has its last value");
    check(!output_contains(&r, "\"f3\":3"), "duplicate_keys_sorted", "first f3 dropped");
    redactor_free(&r);
}

/*
 * Mutates valid documents at random (a fixed seed and count) and runs them through the
 * redactor, so the sanitizers can catch out-of-bounds access on malformed input.
 */
static void mutated_input_is_safe(void) {
    static const char *const seeds[] = {
        ORDER_PLACED,
        "{\"s\":\"\\ud83d\\ude00\\u00e9\xc3\xa9\",\"n\":[-1.5e+3,0,true,false,null,{}]}",
    };
    srand(12345);
    char buffer[1024];
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds[round % 2];
        size_t len = strlen(seed);
        memcpy(buffer, seed, len);
        int edits = 1 + rand() % 4;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % len;
            switch (rand() % 3) {
            case 0:
                buffer[at] = (char)(rand() % 256);
                break;
            case 1:
                len = at; /* Truncate. */
                break;
            default:
                buffer[at] = "\\\"{}[]:,u0e-."[rand() % 13];
                break;
            }
            if (len == 0)
                break;
        }
        redactor r = redactor_new("m", 1);
        redact_outcome outcome = redact_value(&r, (const uint8_t *)buffer, len);
        if (outcome == REDACT_CHANGED) {
            /* Whatever the redactor writes must parse again. */
            json_arena arena = {0};
            json_value parsed;
            check(json_parse(&arena, r.output.data, r.output.len, &parsed), "mutated_input",
                  "output parses");
            json_arena_free(&arena);
        }
        redactor_free(&r);
    }
    passed++;
}

int main(void) {
    order_placed_redacted();
    payment_captured_redacted();
    configured_mask_used();
    decimals_convert();
    invalid_decimals_reject();
    fraction_digits_reject();
    currency_rejects();
    invalid_card_number_rejects();
    invalid_json_rejects();
    unrelated_events_unchanged();
    nesting_depth_limited();
    strings_round_trip();
    duplicate_keys_keep_last();
    mutated_input_is_safe();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
