//! The admin API client used by every administration command.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use sluice_api::{ApiError, API_PREFIX};

use crate::Remote;

pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
    /// A trusted server the requests go to, through `base` (`--on`).
    on: Option<String>,
}

impl AdminClient {
    /// Resolves server and token: flags and environment first; otherwise the local server's
    /// default address and the token file it wrote into its data directory.
    pub fn from_remote(r: &Remote) -> anyhow::Result<AdminClient> {
        // On a service install, /etc/sluice/sluice.toml says where the API and its token are.
        let installed = match crate::service_defaults::config_file(None) {
            Some(file) if r.server.is_none() || (r.token.is_none() && r.data.is_none()) => {
                crate::service_defaults::read(&file)?
            }
            _ => Default::default(),
        };
        let base = r
            .server
            .clone()
            .or_else(|| installed.admin_url())
            .unwrap_or_else(|| "http://127.0.0.1:8580".to_string());
        let base = base.trim_end_matches('/').to_string();
        let token = match &r.token {
            Some(t) => t.clone(),
            None => {
                let data = r.data.clone().or(installed.data).unwrap_or_else(|| PathBuf::from("./sluice-data"));
                let path = data.join("admin-token");
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "no admin token: pass --token or SLUICE_TOKEN, or run on the server's machine \
                             (looked for {}; set --data/SLUICE_DATA to the server's data directory)",
                            path.display()
                        )
                    })?
                    .trim()
                    .to_string()
            }
        };
        // A self-signed or private-CA admin certificate: --ca-cert, or the service install's own
        // tls-cert when the API's address came from the same file.
        let ca = r.ca_cert.clone().or_else(|| installed.tls_cert.clone().filter(|_| r.server.is_none()));
        let builder = match &ca {
            Some(path) => sluice_agent::trust::Trust::with_ca_file(path)?.reqwest_builder(),
            None => reqwest::Client::builder(),
        };
        let http = builder
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(AdminClient { http, base, token, on: r.on.clone().filter(|o| !o.trim().is_empty()) })
    }

    pub fn url(&self, path: &str) -> String {
        match &self.on {
            Some(on) => format!("{}{}/servers/{}{}", self.base, API_PREFIX, crate::users_cmd::urlencoding(on), path),
            None => format!("{}{}{}", self.base, API_PREFIX, path),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.token)
    }

    pub async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let body = self.send_raw(rb).await?;
        serde_json::from_slice(&body).context("the server's answer is not the expected JSON")
    }

    /// For answers that are not JSON (CSV reports).
    pub async fn send_text(&self, rb: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let body = self.send_raw(rb).await?;
        String::from_utf8(body).context("the server's answer is not UTF-8 text")
    }

    async fn send_raw(&self, rb: reqwest::RequestBuilder) -> anyhow::Result<Vec<u8>> {
        let resp = rb.send().await.with_context(|| format!("cannot reach the Sluice admin API at {}", self.base))?;
        let status = resp.status();
        let body = resp.bytes().await.context("reading the server's answer")?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<ApiError>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            bail!("{} ({})", msg, status);
        }
        Ok(body.to_vec())
    }
}
