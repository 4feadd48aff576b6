//! `sluice serve`: the one command that runs the server in this process, and so the only CLI
//! module that links `sluice-server` (tests/architecture.rs checks that).

use crate::{DoctorArgs, LogFormat, Remote, S3Args, ServeArgs, TlsArgs};

fn tls_overrides(t: TlsArgs) -> anyhow::Result<sluice_server::config::Overrides> {
    let trusted_proxies = t
        .trusted_proxies
        .iter()
        .map(|p| p.parse().map_err(|e: String| anyhow::anyhow!("--trusted-proxy: {e}")))
        .collect::<anyhow::Result<_>>()?;
    Ok(sluice_server::config::Overrides {
        tls_cert: t.tls_cert,
        tls_key: t.tls_key,
        client_tls_listen: t.client_tls_listen,
        no_client_http: t.no_client_http,
        public_url: t.public_url,
        trusted_proxies,
        insecure_admin: t.insecure_admin,
        ..Default::default()
    })
}

fn s3_options(a: S3Args) -> sluice_server::config::S3Access {
    sluice_server::config::S3Access {
        endpoint: a.s3_endpoint,
        region: a.s3_region,
        access_key_id: a.s3_access_key_id,
        secret_access_key: a.s3_secret_access_key.map(sluice_server::config::Secret::new),
        allow_http: a.s3_allow_http,
    }
}

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
        s3: s3_options(a.s3),
        ..tls_overrides(a.tls)?
    };
    // A service install's /etc/sluice/sluice.toml when no file is named.
    let file = crate::service_defaults::config_file(a.config.as_deref());
    let config = sluice_server::config::Config::load(file.as_deref(), &overrides)?;
    sluice_server::run(config, sluice_server::shutdown_signal()).await?;
    Ok(())
}

/// `sluice doctor`: the server's own checks on the configuration `serve` would use.
pub(crate) async fn doctor(remote: Remote, a: DoctorArgs) -> anyhow::Result<()> {
    use sluice_server::doctor::Verdict;
    let overrides = sluice_server::config::Overrides {
        data: remote.data,
        database: a.database,
        content: a.content,
        client_listen: a.client_listen,
        admin_listen: a.admin_listen,
        no_access_log: false,
        s3: s3_options(a.s3),
        ..tls_overrides(a.tls)?
    };
    let file = crate::service_defaults::config_file(a.config.as_deref());
    let config = sluice_server::config::Config::load(file.as_deref(), &overrides)?;
    let source = file.map_or("embedded defaults and flags".to_owned(), |f| format!("{} and flags", f.display()));
    let checks = sluice_server::doctor::run(&config, &source).await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            let verdict = match c.verdict {
                Verdict::Ok => "OK",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            println!("{verdict:<4}  {:<14}  {}", c.name, crate::terminal::escape(&c.detail));
        }
    }
    let failed = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}
