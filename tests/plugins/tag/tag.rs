// The body of the tag test plugins. Each includes this file after defining `TAG`, the value
// of the `tag` header it adds, and `INIT`, how its `init` behaves, so that the builds differ
// only in those two constants and have different digests.
//
// Every event becomes two outputs, `part` 1 and 2, each tagged and carrying the offset of the
// first event of its batch call in `batch`, so tests can check that all outputs of one event,
// and all events of one batch, come from the same version.

use weir_plugin::{Config, Event, Failure, Output, Plugin};

/// How `init` behaves.
#[allow(dead_code)]
enum Init {
    Succeed,
    Fail,
    Hang,
}

struct Tag;

impl Plugin for Tag {
    fn init(_config: Config) -> Result<Self, String> {
        match INIT {
            Init::Succeed => Ok(Tag),
            Init::Fail => Err(format!("version {TAG} always fails init")),
            Init::Hang => {
                let mut counter = 0u64;
                loop {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            }
        }
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        self.tag(event, None)
    }

    fn process_batch(&mut self, events: Vec<Event>) -> Vec<Result<Vec<Output>, Failure>> {
        let batch = events.first().map(|event| event.offset);
        events
            .into_iter()
            .map(|event| self.tag(event, batch))
            .collect()
    }
}

impl Tag {
    fn tag(&mut self, event: Event, batch: Option<i64>) -> Result<Vec<Output>, Failure> {
        let batch = batch.unwrap_or(event.offset).to_string();
        let output = |part: &str| {
            Output::from_event(&event)
                .with_header("tag", TAG)
                .with_header("part", part)
                .with_header("batch", batch.as_str())
        };
        Ok(vec![output("1"), output("2")])
    }
}

weir_plugin::export_plugin!(Tag);
