use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

/// Properties that Weir sets itself, because the commit rule depends on them.
const CONSUMER_OWNED: &[&str] = &["enable.auto.offset.store", "group.id", "bootstrap.servers"];
const PRODUCER_OWNED: &[&str] = &["enable.idempotence", "acks", "bootstrap.servers"];

/// Builds a consumer configuration: the user's properties, then the settings that Weir owns.
pub(crate) fn consumer_config(
    bootstrap_servers: &str,
    group: &str,
    start: crate::config::StartPosition,
    properties: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<ClientConfig> {
    let mut config = ClientConfig::new();
    // Offsets are committed periodically by librdkafka, but only the ones Weir stored.
    config.set("enable.auto.commit", "true");
    config.set("auto.commit.interval.ms", "1000");
    config.set(
        "auto.offset.reset",
        match start {
            crate::config::StartPosition::Earliest => "earliest",
            crate::config::StartPosition::Latest => "latest",
        },
    );
    apply_properties(&mut config, properties, CONSUMER_OWNED)?;
    config.set("bootstrap.servers", bootstrap_servers);
    config.set("group.id", group);
    config.set("enable.auto.offset.store", "false");
    Ok(config)
}

/// Builds a producer configuration: the user's properties, then idempotence and `acks=all`.
pub(crate) fn producer_config(
    bootstrap_servers: &str,
    properties: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<ClientConfig> {
    let mut config = ClientConfig::new();
    config.set("linger.ms", "5");
    // The Java client's partitioner, so keys land where the embedded topics put them.
    config.set("partitioner", "murmur2_random");
    apply_properties(&mut config, properties, PRODUCER_OWNED)?;
    config.set("bootstrap.servers", bootstrap_servers);
    config.set("enable.idempotence", "true");
    config.set("acks", "all");
    Ok(config)
}

fn apply_properties(
    config: &mut ClientConfig,
    properties: &BTreeMap<String, serde_json::Value>,
    owned: &[&str],
) -> anyhow::Result<()> {
    for (name, value) in properties {
        if owned.contains(&name.as_str()) {
            anyhow::bail!(
                "property `{name}` is set by Weir, because the commit rule depends on it; \
                 remove it from `properties`"
            );
        }
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        config.set(name, text);
    }
    Ok(())
}

/// Sends librdkafka's own logs and errors to `tracing`.
#[derive(Clone)]
pub(crate) struct LoggingContext {
    pub(crate) pipeline: std::sync::Arc<str>,
}

impl ClientContext for LoggingContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(&self.pipeline, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_librdkafka_error(&self.pipeline, &error, reason);
    }
}

pub(crate) fn log_librdkafka(
    pipeline: &str,
    level: RDKafkaLogLevel,
    facility: &str,
    message: &str,
) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "weir::librdkafka", pipeline, facility, "{message}")
        }
        RDKafkaLogLevel::Warning => {
            tracing::warn!(target: "weir::librdkafka", pipeline, facility, "{message}")
        }
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "weir::librdkafka", pipeline, facility, "{message}")
        }
        RDKafkaLogLevel::Debug => {
            tracing::debug!(target: "weir::librdkafka", pipeline, facility, "{message}")
        }
    }
}

/// Logs a client error. librdkafka reconnects by itself, so these are reported, not fatal.
pub(crate) fn log_librdkafka_error(pipeline: &str, error: &KafkaError, reason: &str) {
    tracing::error!(
        target: "weir::librdkafka",
        pipeline,
        %error,
        reason,
        "Kafka client error; librdkafka keeps retrying"
    );
}
