//! HTTP edge of Sluice: the client listener (content; the SOAP services come next) and the
//! admin API, wired to the catalog, the store and the content store.

pub mod access;
pub mod admin;
pub mod admin_audit;
pub mod admin_cleanup;
pub mod admin_downstreams;
pub mod admin_reports;
pub mod admin_servers;
pub mod admin_rollouts;
pub mod admin_rules;
pub mod admin_people;
pub mod admin_notify;
pub mod admin_sync;
pub mod admin_targeting;
pub mod admin_transfer;
pub mod body_budget;
pub mod bootstrap;
pub mod cleanup;
pub mod client_limits;
pub mod client_services;
pub mod computer_cache;
pub mod config;
pub mod console;
mod console_api;
mod console_automation;
mod console_computers;
mod console_options;
mod console_overview;
mod console_people;
mod console_servers;
mod console_updates;
pub mod content_http;
pub mod doctor;
pub mod front_ends;
pub mod health;
pub mod index_load;
pub mod instance_record;
pub mod listener;
pub mod login_limit;
pub mod mailer;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod scan_state;
pub mod server_sync;
mod server_sync_rollup;
pub mod soap_edge;
pub mod trust;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_catalog::Catalog;
use sluice_content::ContentStore;
use sluice_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use sluice_catalog::api;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot prepare the directory {path} (setting `{setting}`): {source}")]
    DataDir { path: String, setting: &'static str, source: std::io::Error },
    #[error("cannot open the database {url} (setting `database`: --database or SLUICE_DATABASE): {source}")]
    Database { url: String, source: sluice_store::StoreError },
    #[error("database: {0}")]
    Store(#[from] sluice_store::StoreError),
    #[error("cannot open the content store: {0}")]
    Content(#[from] sluice_content::ContentError),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind { addr: SocketAddr, what: &'static str, source: std::io::Error },
    #[error("cannot load the catalog for clients: {0}")]
    Scan(#[from] sluice_catalog::CatalogError),
    #[error("first-start setup failed: {0}")]
    Bootstrap(String),
    #[error("server task failed: {0}")]
    Task(String),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("{0}")]
    InsecureAdmin(String),
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub store: Store,
    pub content: Arc<ContentStore>,
    /// What the client services serve from; admin changes invalidate it.
    pub scan: Arc<scan_state::ScanState>,
    /// The client listener's address: the plain-HTTP one when it runs, else the HTTPS one.
    pub client_addr: SocketAddr,
    /// How content and fault-actor URLs name this server (`origin.rs`).
    pub urls: Arc<origin::UrlPolicy>,
    /// The admin listener serves HTTPS (the console's cookies are then `Secure`).
    pub admin_tls: bool,
    /// Failed console logins, for rate limiting.
    pub logins: Arc<login_limit::LoginLimiter>,
    /// Prometheus series (`GET /metrics` on the admin listener).
    pub metrics: Arc<metrics::Metrics>,
    /// Whether the client listener logs every request (`access.rs`).
    pub access_log: bool,
    /// This server's id (WSUS ServerId), as clients, downstream servers and the servers that
    /// trust it know it.
    pub server_id: uuid::Uuid,
    /// Seals the tokens of trusted servers (`trust.rs`).
    pub trust_key: trust::TrustKey,
    /// This front end, as the job leases name it (`front_ends.rs`).
    pub front_end: sluice_store::LeaseHolder,
}

/// A started server: its bound addresses and the means to stop it.
pub struct RunningServer {
    /// The plain-HTTP client listener, or the HTTPS one when plain HTTP is turned off.
    pub client_addr: SocketAddr,
    /// The HTTPS client listener, when TLS is configured.
    pub client_tls_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    /// Whether the admin listener serves HTTPS.
    pub admin_tls: bool,
    /// The admin token written on first start (or found valid on disk).
    pub admin_token: String,
    pub state: AppState,
    stop: CancellationToken,
    tasks: tokio::task::JoinSet<std::io::Result<()>>,
    grace: Duration,
}

impl RunningServer {
    /// Asks both listeners to stop accepting, lets in-flight requests finish for the grace
    /// period, then drops whatever is left.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.stop.cancel();
        let drain = async {
            while let Some(r) = self.tasks.join_next().await {
                match r {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(ServerError::Task(e.to_string())),
                    Err(e) => return Err(ServerError::Task(e.to_string())),
                }
            }
            Ok(())
        };
        let result = match tokio::time::timeout(self.grace, drain).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!("requests still running after {:?}; closing them", self.grace);
                self.tasks.abort_all();
                Ok(())
            }
        };
        self.state.store.close().await;
        result
    }

    /// Waits until a listener fails on its own (it normally never does).
    async fn failed(&mut self) -> ServerError {
        match self.tasks.join_next().await {
            Some(Ok(Err(e))) => ServerError::Task(e.to_string()),
            Some(Err(e)) => ServerError::Task(e.to_string()),
            _ => ServerError::Task("a listener stopped unexpectedly".into()),
        }
    }
}

/// Opens everything, performs first-start setup and starts both listeners.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    if let Some(why) = config.admin_exposure() {
        return Err(ServerError::InsecureAdmin(why));
    }
    // Before anything is opened: a bad pair is a configuration error, not a half-started server.
    let acceptor = match &config.tls {
        Some(files) => Some(tls::load(files)?.acceptor),
        None => None,
    };
    // The data directory holds the database with the cookie key and the admin secrets: only the
    // service user may enter it, and so for the content store, wherever it is configured.
    for (dir, setting) in [(config.data_dir.clone(), "data: --data or SLUICE_DATA"), (config.content_root(), "content: --content or SLUICE_CONTENT")] {
        bootstrap::private_dir(&dir).map_err(|source| ServerError::DataDir { path: dir.display().to_string(), setting, source })?;
    }
    // The content store before the database: an unreachable S3 endpoint or a missing bucket
    // stops the start here, with the setting named, before anything else is set up.
    let content = Arc::new(match config.s3_settings() {
        Some(s3) => ContentStore::open_s3(&s3, config.content_root()).await?,
        None => ContentStore::open(config.content_root()).await?,
    });
    let url = config.database_url();
    let store = Store::open(&url).await.map_err(|source| ServerError::Database { url: sluice_store::redact_url(&url), source })?;
    let catalog = Catalog::new(store.clone(), content.clone());
    // Revisions stored by a version that did not keep their license facts get them now, once:
    // approving and GetDeployments read only the stored facts.
    catalog.derive_license_facts().await?;
    let admin_token = bootstrap::ensure_admin(&store, &config.data_dir)
        .await
        .map_err(|e| ServerError::Bootstrap(e.to_string()))?;
    let scan = Arc::new(scan_state::ScanState::open(catalog.clone(), &config.data_dir).await?);
    // Made by the scan state's first open if the database had none.
    let server_id = store
        .setting(sluice_store::settings::CLIENT_FACING_SERVER_ID)
        .await?
        .ok_or_else(|| ServerError::Bootstrap("the database has no server id".into()))?;
    let trust_key = trust::TrustKey::load_or_create(&config.data_dir).map_err(|e| ServerError::Bootstrap(format!("trusted-servers key: {e}")))?;

    let client_listener = match config.client_http {
        true => Some(bind(config.client_listen, "client services").await?),
        false => None,
    };
    let client_tls_listener = match acceptor {
        Some(_) => Some(bind(config.client_tls_listen, "client services over HTTPS").await?),
        None => None,
    };
    let (admin_listener, admin_addr) = bind(config.admin_listen, "admin API").await?;
    let client_tls_addr = client_tls_listener.as_ref().map(|(_, addr)| *addr);
    let client_addr = match (client_listener.as_ref().map(|(_, addr)| *addr), client_tls_addr) {
        (Some(addr), _) | (None, Some(addr)) => addr,
        // Config::load refuses a configuration without either.
        (None, None) => return Err(ServerError::Bootstrap("no client listener is configured".into())),
    };
    let admin_tls = acceptor.is_some();
    let state = AppState {
        catalog,
        store: store.clone(),
        content: content.clone(),
        scan,
        client_addr,
        urls: Arc::new(config.urls.clone()),
        admin_tls,
        logins: Arc::new(login_limit::LoginLimiter::default()),
        metrics: Arc::new(metrics::Metrics::new()),
        access_log: config.access_log,
        server_id,
        trust_key,
        front_end: front_ends::holder(&config.data_dir),
    };

    let stop = CancellationToken::new();
    // Upstream sync: scheduled and queued runs, downloads of approved files (sluice-sync).
    sluice_sync::Scheduler::spawn(state.catalog.clone(), state.front_end.clone(), stop.child_token());
    // Other front ends on the same PostgreSQL database announce their admin changes.
    front_ends::spawn_listener(store.clone(), state.scan.clone(), state.front_end.clone(), stop.child_token());
    // Staged rollouts move on from ring to ring as their soak times pass.
    admin_rollouts::spawn_evaluation(state.clone(), stop.child_token());
    // The daily cleanup and the e-mail notifications.
    maintenance::spawn(state.clone(), stop.child_token());
    let mut tasks = tokio::task::JoinSet::new();
    let client_app = client_router(state.clone());
    let admin_app = admin::router(state.clone());
    body_budget::init_global(config.body_budget_bytes, Duration::from_millis(config.body_budget_wait_ms));
    let (mut client_limits, admin_limits) = (config.client_connections, config.admin_connections);
    let fitted = listener::fit_client_limit(
        client_limits.max_connections,
        admin_limits.max_connections,
        listener::descriptor_limit(),
    );
    if fitted < client_limits.max_connections {
        tracing::warn!(
            configured = client_limits.max_connections,
            used = fitted,
            "client connection limit lowered to fit the open-file limit (raise it with ulimit -n or LimitNOFILE=)"
        );
        client_limits.max_connections = fitted;
    }
    // Both client listeners draw on one limit: it was fitted to the descriptors they share.
    let client_slots = listener::slots(&client_limits);
    if let Some((l, _)) = client_listener {
        let slots = client_slots.clone();
        tasks.spawn(listener::serve(l, client_app.clone(), client_limits, slots, stop.clone(), "client", None));
    }
    if let Some((l, _)) = client_tls_listener {
        let tls = acceptor.clone();
        tasks.spawn(listener::serve(l, client_app, client_limits, client_slots, stop.clone(), "client-tls", tls));
    }
    let admin_slots = listener::slots(&admin_limits);
    tasks.spawn(listener::serve(admin_listener, admin_app, admin_limits, admin_slots, stop.clone(), "admin", acceptor));
    tracing::info!(
        %client_addr,
        client_tls = ?client_tls_addr,
        %admin_addr,
        admin_tls,
        data = %config.data_dir.display(),
        "sluice is serving"
    );
    Ok(RunningServer {
        client_addr,
        client_tls_addr,
        admin_addr,
        admin_tls,
        admin_token,
        state,
        stop,
        tasks,
        grace: Duration::from_secs(config.shutdown_grace_secs),
    })
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, what, source })?;
    let bound = listener.local_addr().map_err(|source| ServerError::Bind { addr, what, source })?;
    Ok((listener, bound))
}

/// Runs until `shutdown` resolves, then stops gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    let mut server = start(config).await?;
    tokio::select! {
        _ = shutdown => {
            tracing::info!("shutting down");
            server.shutdown().await
        }
        e = server.failed() => Err(e),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// What Windows clients and downstream servers reach on port 8530: content by path, and the
/// SOAP services, whose paths IIS matches case-insensitively, through the fallback.
fn client_router(state: AppState) -> axum::Router {
    let soap = axum::Router::new().fallback(client_services::handle).with_state(state.clone());
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "Sluice update server\n" }))
        .merge(health::routes().with_state(state.clone()))
        .merge(content_http::router(state.content.clone()))
        .merge(soap)
        .layer(axum::middleware::from_fn_with_state(state, access::client_access))
}
