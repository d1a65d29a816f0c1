//! Apache Kafka as a source (a consumer group) and a sink (an idempotent producer).
//!
//! Each assigned partition gets a worker thread that reads its own partition queue, runs the
//! plugin chain and produces the outputs. The worker stores an offset only once every output
//! of the events below it was acknowledged, and librdkafka commits the stored offsets
//! periodically; Weir also commits on revoke and on shutdown.

mod client;
mod context;
mod pipeline;
mod sink;
pub mod tools;
mod window;
mod worker;

pub use pipeline::run_kafka_pipeline;
