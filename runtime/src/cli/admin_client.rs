//! The client side of the admin API, for the commands that talk to a running `weir run`.

use std::time::Duration;

use anyhow::Context;
use weir::admin::AdminOptions;

use super::AdminArgs;

/// A connection to the admin API of a running `weir run`.
pub struct AdminClient {
    agent: ureq::Agent,
    options: AdminOptions,
}

impl AdminClient {
    pub fn new(args: &AdminArgs) -> anyhow::Result<Self> {
        let Some(options) = args.options()? else {
            anyhow::bail!(
                "this command needs the admin API of `weir run`; pass --admin with its address"
            );
        };
        // A swap compiles and initialises the plugin before it responds, which can take a
        // while for a large component.
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(300)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self { agent, options })
    }

    /// Sends a GET request and returns the JSON response.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let mut request = self.agent.get(&self.url(path));
        if let Some(token) = &self.options.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request.call().with_context(|| self.unreachable())?;
        self.read(response)
    }

    /// Sends a POST request with `body` and returns the JSON response.
    pub fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<T> {
        let mut request = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", "application/wasm");
        if let Some(token) = &self.options.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request.send(body).with_context(|| self.unreachable())?;
        self.read(response)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.options.address)
    }

    fn unreachable(&self) -> String {
        let address = self.options.address;
        format!(
            "cannot reach the admin API at {address}; is `weir run` running with --admin {address}?"
        )
    }

    fn read<T: serde::de::DeserializeOwned>(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> anyhow::Result<T> {
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .context("cannot read the admin API's response")?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|value| value["error"].as_str().map(str::to_string))
                .unwrap_or(body);
            anyhow::bail!("the admin API responded {status}: {message}");
        }
        serde_json::from_str(&body)
            .context("the admin API responded with JSON this `weir` cannot read")
    }
}
