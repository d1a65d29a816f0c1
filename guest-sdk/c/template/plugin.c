/*
 * {{name}}: a Weir plugin in C. Each event becomes one output with the same key, value and
 * headers. Edit weir_process to change that.
 */
#include "weir_plugin.h"

bool weir_init(const weir_config *config, weir_error *error) {
    if (weir_config_count(config) != 0) {
        return weir_fail(error, "unknown config key `%s`: {{name}} accepts no config",
                         weir_config_key(config, 0));
    }
    return true;
}

void weir_process(const weir_event *event, weir_result *result) {
    weir_output output = weir_output_from_event(event);
    weir_emit(result, &output);
}
