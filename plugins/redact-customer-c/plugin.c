/*
 * redact-customer in C: the Weir SDK glue around redact.c. Config: `mask` (optional,
 * default REDACTED), the replacement text. Any other key fails init.
 */
#include <stdbool.h>
#include <string.h>

#include "redact.h"
#include "weir_plugin.h"

static redactor current;
static bool has_current = false;

bool weir_init(const weir_config *config, weir_error *error) {
    for (size_t i = 0; i < weir_config_count(config); i++) {
        if (!weir_bytes_equal(weir_config_key_bytes(config, i), "mask")) {
            return weir_fail(error, "unknown config key `%s`: redact-customer accepts only `mask`",
                             weir_config_key(config, i));
        }
    }

    weir_bytes mask = weir_config_get_bytes(config, "mask");
    if (mask.data == NULL)
        mask = weir_bytes_from_string(REDACT_DEFAULT_MASK);

    /* Replace the previous redactor only now that the new config is known to be valid. */
    if (has_current)
        redactor_free(&current);
    current = redactor_new((const char *)mask.data, mask.len);
    has_current = true;
    return true;
}

void weir_process(const weir_event *event, weir_result *result) {
    weir_output output = weir_output_from_event(event);
    if (event->value.data == NULL) {
        weir_emit(result, &output);
        return;
    }

    switch (redact_value(&current, event->value.data, event->value.len)) {
    case REDACT_UNCHANGED:
        break;
    case REDACT_CHANGED:
        output.value = (weir_bytes){current.output.data, current.output.len};
        break;
    case REDACT_REJECTED:
        weir_reject(result, "%s", (const char *)current.reason.data);
        return;
    }
    weir_emit(result, &output);
}
