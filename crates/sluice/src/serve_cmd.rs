//! `sluice serve`: the one command that runs the server in this process, and so the only CLI
//! module that links `sluice-server` (tests/architecture.rs checks that).

use crate::{LogFormat, Remote, ServeArgs};

pub(crate) async fn serve(remote: Remote, a: ServeArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match a.log_format {
        LogFormat::Text => logs.init(),
        // One JSON object per line, for journald, Loki or Elasticsearch: fields stay fields.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let overrides = sluice_server::config::Overrides {
        data: remote.data,
        database: a.database,
        content: a.content,
        client_listen: a.client_listen,
        admin_listen: a.admin_listen,
        no_access_log: a.no_access_log,
    };
    let config = sluice_server::config::Config::load(a.config.as_deref(), &overrides)?;
    sluice_server::run(config, sluice_server::shutdown_signal()).await?;
    Ok(())
}
