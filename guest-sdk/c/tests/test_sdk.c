/*
 * Native tests of weir_plugin.c: they call the generated export functions the way the
 * host does (arguments allocated with malloc, results freed by the generated free
 * functions that post-return also uses), so AddressSanitizer and LeakSanitizer catch a
 * double free or leak in the SDK's ownership handling. run.sh builds them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir_bindings.h"
#include "weir_plugin.h"

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

/* Stubs for the symbols that the component model provides. */
void __wasm_import_weir_plugin_log_log(int32_t level, uint8_t *message, size_t len) {
    (void)level;
    (void)message;
    (void)len;
}

void __component_type_object_force_link_weir_bindings(void) {}

/* ---- The plugin under test: its behaviour depends on the event key. ---- */

static char last_config[256];

bool weir_init(const weir_config *config, weir_error *error) {
    const char *fail = weir_config_get(config, "fail");
    if (fail != NULL)
        return weir_fail(error, "config says fail: %s", fail);
    last_config[0] = '\0';
    for (size_t i = 0; i < weir_config_count(config); i++) {
        size_t used = strlen(last_config);
        snprintf(last_config + used, sizeof last_config - used, "%s=%s;",
                 weir_config_key(config, i), weir_config_value(config, i));
    }
    return true;
}

void weir_process(const weir_event *event, weir_result *result) {
    weir_output output = weir_output_from_event(event);
    if (weir_bytes_equal(event->key, "pass")) {
        weir_emit(result, &output);
    } else if (weir_bytes_equal(event->key, "twice")) {
        weir_emit(result, &output);
        weir_emit(result, &output);
    } else if (weir_bytes_equal(event->key, "prefix")) {
        output.value.len = event->value.len / 2;
        weir_emit(result, &output);
    } else if (weir_bytes_equal(event->key, "reject-after-emit")) {
        weir_emit(result, &output);
        weir_emit(result, &output);
        weir_reject(result, "rejected %d", 7);
    } else if (weir_bytes_equal(event->key, "retry")) {
        weir_retry(result, "later");
    } else if (weir_bytes_equal(event->key, "filter")) {
        return;
    } else if (weir_bytes_equal(event->key, "new")) {
        char value[] = "new value";
        weir_header headers[] = {
            {weir_bytes_from_string("a"), weir_bytes_from_string("1")},
            {weir_bytes_from_string("b"), WEIR_NONE},
            {weir_bytes_from_string(""), weir_bytes_from_string("")},
        };
        weir_output fresh = {
            .topic = weir_bytes_from_string("other"),
            .key = WEIR_NONE,
            .value = weir_bytes_from_string(value),
            .headers = headers,
            .header_count = 3,
        };
        weir_emit(result, &fresh);
        output.headers = headers;
        output.header_count = 1;
        weir_emit(result, &output);
    } else if (weir_bytes_equal(event->key, "empty-reason")) {
        weir_reject(result, "%s", "");
    } else {
        weir_reject(result, "unknown test key");
    }
}

/* ---- Host side ---- */

static weir_bindings_list_u8_t host_bytes(const char *text) {
    size_t len = strlen(text);
    if (len == 0)
        return (weir_bindings_list_u8_t){(uint8_t *)1, 0};
    uint8_t *copy = malloc(len);
    memcpy(copy, text, len);
    return (weir_bindings_list_u8_t){copy, len};
}

static weir_bindings_option_list_u8_t host_option(const char *text) {
    if (text == NULL)
        return (weir_bindings_option_list_u8_t){.is_some = false};
    return (weir_bindings_option_list_u8_t){.is_some = true, .val = host_bytes(text)};
}

static exports_weir_plugin_handler_event_t host_event(const char *key, const char *value,
                                                      size_t header_count) {
    weir_bindings_list_u8_t topic = host_bytes("orders");
    exports_weir_plugin_handler_event_t event = {
        .topic = {topic.ptr, topic.len},
        .partition = 3,
        .offset = 42,
        .timestamp_ms = {.is_some = true, .val = 1000},
        .key = host_option(key),
        .value = host_option(value),
        .headers = {(exports_weir_plugin_handler_header_t *)8, 0},
    };
    if (header_count != 0) {
        event.headers.ptr = malloc(header_count * sizeof *event.headers.ptr);
        event.headers.len = header_count;
        for (size_t i = 0; i < header_count; i++) {
            weir_bindings_list_u8_t name = host_bytes(i == 0 ? "trace-id" : "empty");
            event.headers.ptr[i].name = (weir_bindings_string_t){name.ptr, name.len};
            event.headers.ptr[i].value = host_option(i == 0 ? "t-1" : NULL);
        }
    }
    return event;
}

static bool bytes_are(weir_bindings_option_list_u8_t bytes, const char *text) {
    if (text == NULL)
        return !bytes.is_some;
    return bytes.is_some && bytes.val.len == strlen(text) &&
           (bytes.val.len == 0 || memcmp(bytes.val.ptr, text, bytes.val.len) == 0);
}

static bool string_is(weir_bindings_string_t string, const char *text) {
    return string.len == strlen(text) && (string.len == 0 || memcmp(string.ptr, text, string.len) == 0);
}

static exports_weir_plugin_handler_list_result_list_output_failure_t
process(exports_weir_plugin_handler_event_t *events, size_t count) {
    exports_weir_plugin_handler_event_t *owned = malloc(count * sizeof *owned);
    memcpy(owned, events, count * sizeof *owned);
    exports_weir_plugin_handler_list_event_t list = {owned, count};
    exports_weir_plugin_handler_list_result_list_output_failure_t results;
    exports_weir_plugin_handler_process(&list, &results);
    return results;
}

static bool init(const char *const *pairs, size_t count, weir_bindings_string_t *error) {
    exports_weir_plugin_handler_config_entry_t *entries = malloc((count + 1) * sizeof *entries);
    for (size_t i = 0; i < count; i++) {
        weir_bindings_list_u8_t key = host_bytes(pairs[2 * i]);
        weir_bindings_list_u8_t value = host_bytes(pairs[2 * i + 1]);
        entries[i].key = (weir_bindings_string_t){key.ptr, key.len};
        entries[i].value = (weir_bindings_string_t){value.ptr, value.len};
    }
    exports_weir_plugin_handler_list_config_entry_t list = {entries, count};
    if (count == 0) {
        free(entries);
        list.ptr = (exports_weir_plugin_handler_config_entry_t *)4;
    }
    return exports_weir_plugin_handler_init(&list, error);
}

static void process_before_init_rejects(void) {
    exports_weir_plugin_handler_event_t events[] = {host_event("pass", "v", 1)};
    exports_weir_plugin_handler_list_result_list_output_failure_t results = process(events, 1);
    check(results.len == 1 && results.ptr[0].is_err, "before_init", "rejected");
    check(string_is(results.ptr[0].val.err.val.reject, "plugin not initialised"), "before_init",
          "reason");
    exports_weir_plugin_handler_list_result_list_output_failure_free(&results);
}

static void config_sorted_last_wins(void) {
    static const char *const pairs[] = {"b", "2", "a", "1", "b", "3", "empty", ""};
    weir_bindings_string_t error = {0};
    check(init(pairs, 4, &error), "config", "init succeeds");
    check(strcmp(last_config, "a=1;b=3;empty=;") == 0, "config", last_config);

    static const char *const failing[] = {"fail", "yes"};
    check(!init(failing, 1, &error), "config_fail", "init fails");
    check(string_is(error, "config says fail: yes"), "config_fail", "message");
    weir_bindings_string_free(&error);

    check(init(NULL, 0, &error), "config_empty", "init succeeds");
}

static void batch_outcomes(void) {
    exports_weir_plugin_handler_event_t events[] = {
        host_event("pass", "value-1", 2),
        host_event("twice", "value-2", 1),
        host_event("prefix", "abcdef", 0),
        host_event("reject-after-emit", "value-4", 2),
        host_event("retry", NULL, 1),
        host_event("filter", "value-6", 1),
        host_event("new", "value-7", 2),
        host_event("empty-reason", "", 0),
        host_event("pass", NULL, 0),
        host_event("pass", "", 0),
    };
    size_t count = sizeof events / sizeof events[0];
    exports_weir_plugin_handler_list_result_list_output_failure_t results = process(events, count);
    check(results.len == count, "batch", "one result per event");

    exports_weir_plugin_handler_result_list_output_failure_t *r = results.ptr;
    check(!r[0].is_err && r[0].val.ok.len == 1, "pass", "one output");
    check(bytes_are(r[0].val.ok.ptr[0].value, "value-1"), "pass", "value kept");
    check(bytes_are(r[0].val.ok.ptr[0].key, "pass"), "pass", "key kept");
    check(r[0].val.ok.ptr[0].headers.len == 2, "pass", "headers kept");
    check(bytes_are(r[0].val.ok.ptr[0].headers.ptr[1].value, NULL), "pass", "null header value");
    check(!r[0].val.ok.ptr[0].topic.is_some, "pass", "no topic");

    check(!r[1].is_err && r[1].val.ok.len == 2, "twice", "two outputs");
    check(bytes_are(r[1].val.ok.ptr[1].value, "value-2"), "twice", "second value copied");
    check(r[1].val.ok.ptr[0].value.val.ptr != r[1].val.ok.ptr[1].value.val.ptr, "twice",
          "outputs own separate buffers");

    check(bytes_are(r[2].val.ok.ptr[0].value, "abc"), "prefix", "prefix of the value");

    check(r[3].is_err && r[3].val.err.tag == EXPORTS_WEIR_PLUGIN_HANDLER_FAILURE_REJECT,
          "reject_after_emit", "rejected");
    check(string_is(r[3].val.err.val.reject, "rejected 7"), "reject_after_emit", "reason");

    check(r[4].is_err && r[4].val.err.tag == EXPORTS_WEIR_PLUGIN_HANDLER_FAILURE_RETRY, "retry",
          "retried");
    check(!r[5].is_err && r[5].val.ok.len == 0, "filter", "no outputs");

    check(!r[6].is_err && r[6].val.ok.len == 2, "new", "two outputs");
    exports_weir_plugin_handler_output_t *fresh = &r[6].val.ok.ptr[0];
    check(fresh->topic.is_some && string_is(fresh->topic.val, "other"), "new", "topic");
    check(!fresh->key.is_some, "new", "no key");
    check(bytes_are(fresh->value, "new value"), "new", "value");
    check(fresh->headers.len == 3 && bytes_are(fresh->headers.ptr[1].value, NULL) &&
              bytes_are(fresh->headers.ptr[2].value, ""),
          "new", "headers");
    check(r[6].val.ok.ptr[1].headers.len == 1, "new", "replaced headers");

    check(r[7].is_err && r[7].val.err.val.reject.len == 0, "empty_reason", "empty reason");
    check(!r[8].is_err && bytes_are(r[8].val.ok.ptr[0].value, NULL), "tombstone", "no value");
    check(!r[9].is_err && bytes_are(r[9].val.ok.ptr[0].value, ""), "empty_value", "empty value");

    exports_weir_plugin_handler_list_result_list_output_failure_free(&results);
}

static void empty_batch(void) {
    exports_weir_plugin_handler_list_event_t list = {(exports_weir_plugin_handler_event_t *)8, 0};
    exports_weir_plugin_handler_list_result_list_output_failure_t results;
    exports_weir_plugin_handler_process(&list, &results);
    check(results.len == 0, "empty_batch", "no results");
    exports_weir_plugin_handler_list_result_list_output_failure_free(&results);
}

int main(void) {
    process_before_init_rejects();
    config_sorted_last_wins();
    batch_outcomes();
    empty_batch();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
