//! The {{name}} Weir plugin: passes every event on unchanged. Replace `process` with your
//! logic; see the `weir_plugin` docs for outputs, failures and logging.

use weir_plugin::{Config, Event, Failure, Output, Plugin};

struct Passthrough {
    _config: Config,
}

impl Plugin for Passthrough {
    fn init(config: Config) -> Result<Self, String> {
        Ok(Self { _config: config })
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        Ok(vec![Output::from(event)])
    }
}

weir_plugin::export_plugin!(Passthrough);
