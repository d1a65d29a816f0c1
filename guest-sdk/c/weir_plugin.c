/*
 * Glue between the bindings that `wit-bindgen c --rename-world weir_bindings` generates
 * and the plugin-facing API of weir_plugin.h.
 *
 * Ownership follows the canonical ABI as wit-bindgen 0.61 implements it for C: the export
 * owns its arguments and must free them, and the generated post-return functions free the
 * results with free() once the host has copied them. Both sides free a list or string only
 * when its length is non-zero, so an empty one may point at static memory.
 */
#include "weir_plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir_bindings.h"

typedef weir_bindings_string_t binding_string;
typedef weir_bindings_list_u8_t binding_bytes;
typedef weir_bindings_option_list_u8_t binding_option_bytes;
typedef exports_weir_plugin_handler_header_t binding_header;
typedef exports_weir_plugin_handler_list_header_t binding_headers;
typedef exports_weir_plugin_handler_event_t binding_event;
typedef exports_weir_plugin_handler_output_t binding_output;
typedef exports_weir_plugin_handler_config_entry_t binding_config_entry;
typedef exports_weir_plugin_handler_result_list_output_failure_t binding_result;

/* Reason given for every event processed before a successful weir_init, as in Rust. */
static const char NOT_INITIALISED[] = "plugin not initialised";

/* Target of empty lists and strings: they need a valid, aligned pointer but no memory. */
static _Alignas(8) uint8_t EMPTY[8];

/* Whether weir_init has succeeded at least once in this instance. */
static bool initialised = false;

struct weir_config_entry {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
};

struct weir_config {
    struct weir_config_entry *entries;
    size_t count;
};

struct weir_error {
    char *message;
    size_t len;
};

struct weir_result {
    binding_event *event;
    const weir_event *view;
    bool key_taken;
    bool value_taken;
    bool headers_taken;
    binding_output *outputs;
    size_t output_count;
    size_t output_capacity;
    bool failed;
    uint8_t failure_tag;
    char *reason;
    size_t reason_len;
};

static void *checked_malloc(size_t size) {
    void *memory = malloc(size == 0 ? 1 : size);
    if (memory == NULL)
        abort();
    return memory;
}

static void *checked_array(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size)
        abort();
    return checked_malloc(count * size);
}

/* Formats into a new heap buffer. `len` excludes the NUL that terminates the text. */
static char *format_message(size_t *len, const char *format, va_list args) {
    va_list measure;
    va_copy(measure, args);
    int needed = vsnprintf(NULL, 0, format, measure);
    va_end(measure);
    if (needed < 0) {
        /* Only an invalid format gets here, so report that rather than lose the event. */
        static const char invalid[] = "invalid printf format in the plugin's message";
        char *text = checked_malloc(sizeof invalid);
        memcpy(text, invalid, sizeof invalid);
        *len = sizeof invalid - 1;
        return text;
    }
    char *text = checked_malloc((size_t)needed + 1);
    vsnprintf(text, (size_t)needed + 1, format, args);
    *len = (size_t)needed;
    return text;
}

/* Hands a heap string to the host, which frees it after the call when it is non-empty. */
static binding_string owned_string(char *text, size_t len) {
    if (len == 0) {
        free(text);
        return (binding_string){EMPTY, 0};
    }
    return (binding_string){(uint8_t *)text, len};
}

static binding_bytes copy_bytes(weir_bytes bytes) {
    if (bytes.len == 0)
        return (binding_bytes){EMPTY, 0};
    uint8_t *copy = checked_malloc(bytes.len);
    memcpy(copy, bytes.data, bytes.len);
    return (binding_bytes){copy, bytes.len};
}

static binding_option_bytes copy_option_bytes(weir_bytes bytes) {
    if (bytes.data == NULL)
        return (binding_option_bytes){.is_some = false};
    return (binding_option_bytes){.is_some = true, .val = copy_bytes(bytes)};
}

static weir_bytes view_bytes(const uint8_t *data, size_t len) {
    return (weir_bytes){len == 0 ? EMPTY : data, len};
}

static weir_bytes view_option_bytes(const binding_option_bytes *bytes) {
    if (!bytes->is_some)
        return WEIR_NONE;
    return view_bytes(bytes->val.ptr, bytes->val.len);
}

weir_bytes weir_bytes_from_string(const char *text) {
    if (text == NULL)
        return WEIR_NONE;
    return (weir_bytes){(const uint8_t *)text, strlen(text)};
}

bool weir_bytes_equal(weir_bytes bytes, const char *text) {
    if (bytes.data == NULL || text == NULL)
        return false;
    size_t len = strlen(text);
    return bytes.len == len && memcmp(bytes.data, text, len) == 0;
}

weir_output weir_output_from_event(const weir_event *event) {
    return (weir_output){
        .topic = WEIR_NONE,
        .key = event->key,
        .value = event->value,
        .headers = event->headers,
        .header_count = event->header_count,
    };
}

/* ---- Config ---- */

size_t weir_config_count(const weir_config *config) {
    return config->count;
}

const char *weir_config_key(const weir_config *config, size_t index) {
    return index < config->count ? config->entries[index].key : NULL;
}

const char *weir_config_value(const weir_config *config, size_t index) {
    return index < config->count ? config->entries[index].value : NULL;
}

static const struct weir_config_entry *find_entry(const weir_config *config, const char *key) {
    size_t key_len = strlen(key);
    for (size_t i = 0; i < config->count; i++) {
        const struct weir_config_entry *entry = &config->entries[i];
        if (entry->key_len == key_len && memcmp(entry->key, key, key_len) == 0)
            return entry;
    }
    return NULL;
}

const char *weir_config_get(const weir_config *config, const char *key) {
    const struct weir_config_entry *entry = find_entry(config, key);
    return entry == NULL ? NULL : entry->value;
}

weir_bytes weir_config_key_bytes(const weir_config *config, size_t index) {
    if (index >= config->count)
        return WEIR_NONE;
    const struct weir_config_entry *entry = &config->entries[index];
    return (weir_bytes){(const uint8_t *)entry->key, entry->key_len};
}

weir_bytes weir_config_get_bytes(const weir_config *config, const char *key) {
    const struct weir_config_entry *entry = find_entry(config, key);
    if (entry == NULL)
        return WEIR_NONE;
    return (weir_bytes){(const uint8_t *)entry->value, entry->value_len};
}

static char *copy_text(const binding_string *text) {
    char *copy = checked_malloc(text->len + 1);
    if (text->len != 0)
        memcpy(copy, text->ptr, text->len);
    copy[text->len] = '\0';
    return copy;
}

static int compare_entries(const void *left, const void *right) {
    const struct weir_config_entry *a = left;
    const struct weir_config_entry *b = right;
    size_t common = a->key_len < b->key_len ? a->key_len : b->key_len;
    int order = memcmp(a->key, b->key, common);
    if (order != 0)
        return order;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Copies the entries, keeping the last value of a repeated key, and sorts them by key. */
static void build_config(weir_config *config, const binding_config_entry *entries, size_t count) {
    config->entries = checked_array(count, sizeof *config->entries);
    config->count = 0;

    for (size_t i = 0; i < count; i++) {
        const binding_config_entry *entry = &entries[i];
        bool repeated_later = false;
        for (size_t j = i + 1; j < count && !repeated_later; j++) {
            repeated_later = entries[j].key.len == entry->key.len &&
                             (entry->key.len == 0 ||
                              memcmp(entries[j].key.ptr, entry->key.ptr, entry->key.len) == 0);
        }
        if (repeated_later)
            continue;

        config->entries[config->count++] = (struct weir_config_entry){
            .key = copy_text(&entry->key),
            .key_len = entry->key.len,
            .value = copy_text(&entry->value),
            .value_len = entry->value.len,
        };
    }

    qsort(config->entries, config->count, sizeof *config->entries, compare_entries);
}

static void free_config(weir_config *config) {
    for (size_t i = 0; i < config->count; i++) {
        free(config->entries[i].key);
        free(config->entries[i].value);
    }
    free(config->entries);
}

bool weir_fail(weir_error *error, const char *format, ...) {
    free(error->message);
    va_list args;
    va_start(args, format);
    error->message = format_message(&error->len, format, args);
    va_end(args);
    return false;
}

bool exports_weir_plugin_handler_init(exports_weir_plugin_handler_list_config_entry_t *entries,
                                      binding_string *err) {
    weir_config config;
    build_config(&config, entries->ptr, entries->len);
    exports_weir_plugin_handler_list_config_entry_free(entries);

    weir_error error = {NULL, 0};
    bool ok = weir_init(&config, &error);
    free_config(&config);

    if (ok) {
        free(error.message);
        initialised = true;
        return true;
    }
    if (error.message == NULL) {
        static const char unknown[] = "weir_init failed without a message";
        error.len = sizeof unknown - 1;
        error.message = checked_malloc(sizeof unknown);
        memcpy(error.message, unknown, sizeof unknown);
    }
    *err = owned_string(error.message, error.len);
    return false;
}

/* ---- Results ---- */

static void set_failure(weir_result *result, uint8_t tag, const char *format, va_list args) {
    free(result->reason);
    result->failed = true;
    result->failure_tag = tag;
    result->reason = format_message(&result->reason_len, format, args);
}

void weir_reject(weir_result *result, const char *format, ...) {
    va_list args;
    va_start(args, format);
    set_failure(result, EXPORTS_WEIR_PLUGIN_HANDLER_FAILURE_REJECT, format, args);
    va_end(args);
}

void weir_retry(weir_result *result, const char *format, ...) {
    va_list args;
    va_start(args, format);
    set_failure(result, EXPORTS_WEIR_PLUGIN_HANDLER_FAILURE_RETRY, format, args);
    va_end(args);
}

/*
 * Returns the event's own buffer without a copy when `bytes` starts at it and it has not
 * been handed to another output yet. The buffer then belongs to the output, and the event
 * no longer frees it. Returns false when the bytes must be copied.
 */
static bool take_event_bytes(weir_bytes bytes, binding_option_bytes *source, bool *taken,
                             binding_option_bytes *target) {
    if (*taken || bytes.data == NULL || bytes.len == 0 || !source->is_some ||
        bytes.data != source->val.ptr || bytes.len > source->val.len)
        return false;
    *target = (binding_option_bytes){.is_some = true, .val = {source->val.ptr, bytes.len}};
    *taken = true;
    return true;
}

static binding_headers copy_headers(const weir_header *headers, size_t count) {
    if (count == 0)
        return (binding_headers){(binding_header *)EMPTY, 0};
    binding_header *copy = checked_array(count, sizeof *copy);
    for (size_t i = 0; i < count; i++) {
        binding_bytes name = copy_bytes(headers[i].name);
        copy[i].name = (binding_string){name.ptr, name.len};
        copy[i].value = copy_option_bytes(headers[i].value);
    }
    return (binding_headers){copy, count};
}

void weir_emit(weir_result *result, const weir_output *output) {
    if (result->output_count == result->output_capacity) {
        size_t capacity = result->output_capacity == 0 ? 1 : result->output_capacity * 2;
        if (capacity > SIZE_MAX / sizeof(binding_output))
            abort();
        binding_output *grown = realloc(result->outputs, capacity * sizeof *grown);
        if (grown == NULL)
            abort();
        result->outputs = grown;
        result->output_capacity = capacity;
    }
    binding_output *target = &result->outputs[result->output_count++];

    if (output->topic.data == NULL) {
        target->topic = (weir_bindings_option_string_t){.is_some = false};
    } else {
        binding_bytes topic = copy_bytes(output->topic);
        target->topic = (weir_bindings_option_string_t){.is_some = true,
                                                        .val = {topic.ptr, topic.len}};
    }

    binding_event *event = result->event;
    if (!take_event_bytes(output->key, &event->key, &result->key_taken, &target->key))
        target->key = copy_option_bytes(output->key);
    if (!take_event_bytes(output->value, &event->value, &result->value_taken, &target->value))
        target->value = copy_option_bytes(output->value);

    bool same_headers = output->headers == result->view->headers &&
                        output->header_count == result->view->header_count;
    if (same_headers && !result->headers_taken && event->headers.len != 0) {
        target->headers = event->headers;
        result->headers_taken = true;
    } else {
        target->headers = copy_headers(output->headers, output->header_count);
    }
}

static void free_outputs(binding_output *outputs, size_t count) {
    for (size_t i = 0; i < count; i++)
        exports_weir_plugin_handler_output_free(&outputs[i]);
    free(outputs);
}

/* Moves the outcome of one event into the binding's result, freeing what it drops. */
static void finish_result(weir_result *result, binding_result *target) {
    if (result->failed) {
        free_outputs(result->outputs, result->output_count);
        target->is_err = true;
        target->val.err.tag = result->failure_tag;
        /* Both variant cases carry a string at the same place in the union. */
        target->val.err.val.reject = owned_string(result->reason, result->reason_len);
        return;
    }

    target->is_err = false;
    if (result->output_count == 0) {
        free(result->outputs);
        target->val.ok = (exports_weir_plugin_handler_list_output_t){(binding_output *)EMPTY, 0};
        return;
    }
    target->val.ok = (exports_weir_plugin_handler_list_output_t){result->outputs,
                                                                 result->output_count};
}

/* Frees the parts of the event that no output took over. */
static void free_event(binding_event *event, const weir_result *result) {
    weir_bindings_string_free(&event->topic);
    if (!result->key_taken)
        weir_bindings_option_list_u8_free(&event->key);
    if (!result->value_taken)
        weir_bindings_option_list_u8_free(&event->value);
    if (!result->headers_taken)
        exports_weir_plugin_handler_list_header_free(&event->headers);
}

static void reject_not_initialised(binding_result *target) {
    size_t len = sizeof NOT_INITIALISED - 1;
    char *reason = checked_malloc(len);
    memcpy(reason, NOT_INITIALISED, len);
    target->is_err = true;
    target->val.err.tag = EXPORTS_WEIR_PLUGIN_HANDLER_FAILURE_REJECT;
    target->val.err.val.reject = owned_string(reason, len);
}

void exports_weir_plugin_handler_process(
    exports_weir_plugin_handler_list_event_t *events,
    exports_weir_plugin_handler_list_result_list_output_failure_t *ret) {
    size_t count = events->len;
    if (count == 0) {
        *ret = (exports_weir_plugin_handler_list_result_list_output_failure_t){
            (binding_result *)EMPTY, 0};
        return;
    }
    binding_result *results = checked_array(count, sizeof *results);

    /* One array contains the header views of the whole batch. */
    size_t header_total = 0;
    for (size_t i = 0; i < count; i++) {
        if (events->ptr[i].headers.len > SIZE_MAX - header_total)
            abort();
        header_total += events->ptr[i].headers.len;
    }
    weir_header *header_views = checked_array(header_total, sizeof *header_views);
    size_t header_next = 0;

    for (size_t i = 0; i < count; i++) {
        binding_event *event = &events->ptr[i];
        weir_result result = {.event = event};

        if (!initialised) {
            reject_not_initialised(&results[i]);
            free_event(event, &result);
            continue;
        }

        weir_header *headers = &header_views[header_next];
        for (size_t h = 0; h < event->headers.len; h++) {
            const binding_header *header = &event->headers.ptr[h];
            headers[h].name = view_bytes(header->name.ptr, header->name.len);
            headers[h].value = view_option_bytes(&header->value);
        }
        header_next += event->headers.len;

        weir_event view = {
            .topic = view_bytes(event->topic.ptr, event->topic.len),
            .partition = event->partition,
            .offset = event->offset,
            .has_timestamp = event->timestamp_ms.is_some,
            .timestamp_ms = event->timestamp_ms.is_some ? event->timestamp_ms.val : 0,
            .key = view_option_bytes(&event->key),
            .value = view_option_bytes(&event->value),
            .headers = headers,
            .header_count = event->headers.len,
        };
        result.view = &view;

        weir_process(&view, &result);

        finish_result(&result, &results[i]);
        free_event(event, &result);
    }

    free(header_views);
    free(events->ptr);
    *ret = (exports_weir_plugin_handler_list_result_list_output_failure_t){results, count};
}

/* ---- Log ---- */

void weir_log(weir_log_level level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    size_t len;
    char *text = format_message(&len, format, args);
    va_end(args);

    binding_string message = {(uint8_t *)text, len};
    weir_plugin_log_log((weir_plugin_log_level_t)level, &message);
    free(text);
}
