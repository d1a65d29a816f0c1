// The Weir plugin {{name}}: passes each event on unchanged, with the same key, value and
// headers. Replace `process` with the plugin's own logic.

import { exportPlugin, outputFrom } from "weir-plugin";

class Plugin {
  // Receives the step's `config` map as a Config. Throwing here fails the load of the
  // plugin with the message of the exception, so name the config key at fault.
  static init(config) {
    const unknown = config.keys();
    if (unknown.length > 0) {
      throw new Error(`unknown config key \`${unknown[0]}\`: {{name}} takes no config`);
    }
    return new Plugin();
  }

  // Returns the outputs of one event: an empty array filters it out, several fan it out.
  // Throw `Retry` for a transient fault or `Reject` for a poison event.
  process(event) {
    return [outputFrom(event)];
  }
}

export const handler = exportPlugin(Plugin);
