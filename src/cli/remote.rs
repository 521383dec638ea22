//! Where an operator command works: on the database file directly, or through a running
//! Beacon's operator API (`--url`, `--token`). Either way it ends with the same JSON, printed
//! raw with `--json` or as lines, so scripts see no difference.

use clap::Args;
use serde_json::Value;
use std::process::ExitCode;

/// The options every incident and maintenance command shares.
#[derive(Debug, Args)]
pub(super) struct Target {
    /// A running Beacon's base URL (e.g. http://127.0.0.1:8080): work through its operator API
    /// instead of the database file.
    #[arg(long, env = "BEACON_URL")]
    url: Option<String>,
    /// API token for --url (see `beacon token create`).
    #[arg(long, env = "BEACON_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The database (a SQLite file or a `postgres://` URL), used when --url is not given.
    #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
    pub db: crate::store::Database,
    /// Print the JSON answer instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Why a command failed, which decides the exit code.
#[derive(Debug)]
pub(super) enum Failure {
    /// Bad input (refused locally, or by the server with 400 or 422): exit 2.
    BadInput(String),
    /// Anything else (unreachable server, wrong token, unknown id, database error): exit 1.
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

impl From<crate::store::Error> for Failure {
    fn from(e: crate::store::Error) -> Self {
        Failure::Runtime(e.into())
    }
}

/// A running Beacon's operator API.
pub(super) struct Remote {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Target {
    /// The API to call when `--url` is given; bad input (exit 2) if it comes without a token.
    pub fn remote(&self) -> Result<Option<Remote>, Failure> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let token = self.token.clone().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            Failure::BadInput("--url needs --token (or BEACON_TOKEN): create one with `beacon token create --name NAME`".into())
        })?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::Runtime(e.into()))?;
        Ok(Some(Remote {
            client,
            base: url.trim_end_matches('/').to_owned(),
            token,
        }))
    }
}

impl Remote {
    /// Calls `method path` with an optional JSON body; the answer's JSON, or the server's
    /// error message as a [`Failure`].
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            Failure::Runtime(anyhow::Error::new(e).context(format!("{method} {url}")))
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Runtime(anyhow::anyhow!("{method} {url}: {e}")))?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return json.ok_or_else(|| {
                Failure::Runtime(anyhow::anyhow!("{method} {url}: the answer is not JSON"))
            });
        }
        let message = json
            .as_ref()
            .and_then(|j| j["error"].as_str())
            .map_or_else(|| text.trim().to_owned(), str::to_owned);
        let field = json
            .as_ref()
            .and_then(|j| j["field"].as_str())
            .map(|f| format!(" (field {f})"))
            .unwrap_or_default();
        let message = format!("{message}{field} [HTTP {}]", status.as_u16());
        if matches!(status.as_u16(), 400 | 422) {
            Err(Failure::BadInput(message))
        } else {
            Err(Failure::Runtime(anyhow::anyhow!(message)))
        }
    }
}

/// Prints the outcome (`--json`: the JSON as is; else `lines` of it) and picks the exit code.
pub(super) fn finish(
    outcome: Result<Value, Failure>,
    json: bool,
    lines: impl Fn(&Value) -> Vec<String>,
) -> ExitCode {
    match outcome {
        Ok(value) => {
            if json {
                println!("{value:#}");
            } else {
                for line in lines(&value) {
                    println!("{line}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(Failure::BadInput(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
