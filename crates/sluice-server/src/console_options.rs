//! The Options node: products and classifications, synchronization (upstream, schedule,
//! storage mode), computers (targeting mode), cleanup and e-mail notifications. Automatic
//! approvals and staged rollouts are in `console_automation`, users, tokens and the audit
//! log in `console_people`.

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sluice_api::sync::{CategoryKind, KnownCategory, Schedule, StorageMode, SyncMode, SyncSettings};
use sluice_api::{
    CleanupReport, CleanupRequest, CleanupRunView, CleanupSettings, CleanupSettingsChange, NotifySettingsChange, NotifyTestResult,
    NotifyView, ReportFrequency, SmtpTls, TargetingMode, TargetingSettings,
};
use sluice_console::format::{bytes, opt_time, time};
use sluice_console::{Button, Cell, Choice, Field, Form, Heading, Note, Section, Table};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{Fields, Submitted};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/options", get(index))
        .route("/options/products", get(products).post(save_products))
        .route("/options/synchronization", get(synchronization).post(save_synchronization))
        .route("/options/computers", get(computers).post(save_computers))
        .route("/options/cleanup", get(cleanup).post(save_cleanup))
        .route("/options/cleanup/run", post(run_cleanup))
        .route("/options/email", get(email).post(save_email))
        .route("/options/email/test", post(test_email))
        .merge(crate::console_automation::routes())
        .merge(crate::console_people::routes())
}

/// The Options pages, as the WSUS console's Options node lists its tasks.
const PAGES: [(&str, &str, &str); 9] = [
    ("Products and Classifications", "/options/products", "Which updates are synchronized."),
    ("Synchronization", "/options/synchronization", "Upstream server, schedule and where update files are stored."),
    ("Computers", "/options/computers", "How computers are assigned to computer groups."),
    ("Automatic Approvals", "/options/automatic-approvals", "Rules that approve new updates by classification and product."),
    ("Staged Rollouts", "/options/rollouts", "Rings of computer groups an update moves through."),
    ("Server Cleanup", "/options/cleanup", "Declining superseded and expired updates, removing unused files and stale computers."),
    ("E-Mail Notifications", "/options/email", "Mail about new updates and status reports."),
    ("Users and Tokens", "/options/users", "Who may sign in, with which role, and API tokens."),
    ("Audit Log", "/options/audit", "Who changed what, when, from where."),
];

async fn index(session: Session, State(cs): State<ConsoleState>) -> Response {
    let mut page = session.page(&cs, "Options", Section::Options, None);
    let mut t = Table::new("options", &["Option", "What it sets"]);
    for (label, href, what) in PAGES {
        t.row(vec![Cell::link(label, href), Cell::text(what)]);
    }
    page.push(t);
    html(StatusCode::OK, page.html())
}

fn options_page(session: &Session, cs: &ConsoleState, title: &str, notice: Option<&str>) -> sluice_console::Page {
    session.page(cs, title, Section::Options, notice).trail("Options", "/options")
}

// ------------------------------------------------------------------ products and classifications

async fn products(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_products(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render_products(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let known = match session.api(cs).get::<Vec<KnownCategory>>("/sync/products").await {
        Ok(k) => k,
        Err(r) => return failed(session, cs, "Products and Classifications", Section::Options, r),
    };
    let mut page = options_page(session, cs, "Products and Classifications", Some(notice));
    if known.is_empty() {
        page.push(Note("No product or classification is known yet: they arrive with the first synchronization.".into()));
    }
    let choices = |kind: CategoryKind| {
        let mut list: Vec<&KnownCategory> = known.iter().filter(|c| c.kind == kind).collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list.into_iter()
            .map(|c| Choice::new(c.id.clone(), c.name.clone().unwrap_or_else(|| format!("{} (not synchronized yet)", c.id)), c.selected))
            .collect::<Vec<_>>()
    };
    let form = Form::post("categories", "/options/products", &session.csrf())
        .field(Field::multi("products", "Products", choices(CategoryKind::Product)).help("Hold Ctrl (or ⌘) to choose several."))
        .field(Field::multi("classifications", "Classifications", choices(CategoryKind::Classification)).error(sent.err("categories", "classifications")))
        .button(Button::new("Save"))
        .error(sent.refusal("categories"));
    page.push(readonly_unless(session, form));
    html(status, page.html())
}

/// A settings form for a Reporter: shown, so they can read the settings, but without a
/// button (the server refuses their POST anyway).
fn readonly_unless(session: &Session, mut form: Form) -> Form {
    if !session.can_change() {
        form.buttons.clear();
        form.post = false;
        form.action = String::new();
    }
    form
}

async fn save_products(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let api = posted.session.api(&cs);
    let mut settings = match api.get::<SyncSettings>("/sync/settings").await {
        Ok(s) => s,
        Err(r) => return failed(&posted.session, &cs, "Products and Classifications", Section::Options, r),
    };
    settings.products = posted.fields.all("products");
    settings.classifications = posted.fields.all("classifications");
    match api.send::<SyncSettings>(Method::PUT, "/sync/settings", &settings).await {
        Ok(_) => see_other("/options/products?notice=saved"),
        Err(r) => {
            let mut sent = Submitted::of("categories", &posted.fields);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_products(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

// ------------------------------------------------------------------ synchronization

async fn synchronization(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_synchronization(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render_synchronization(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let s = match session.api(cs).get::<SyncSettings>("/sync/settings").await {
        Ok(s) => s,
        Err(r) => return failed(session, cs, "Synchronization", Section::Options, r),
    };
    let mut page = options_page(session, cs, "Synchronization", Some(notice));
    let f = "sync";
    let v = |name: &str, now: &str| sent.value(f, name, now);
    let scheduled = if sent.form == f { sent.fields.ticked("scheduled") } else { s.schedule.is_some() };
    let form = Form::post(f, "/options/synchronization", &session.csrf())
        .field(Field::new("url", "upstream", "Upstream server", v("upstream", &s.upstream)).required().error(sent.err(f, "upstream")))
        .field(Field::select("mode", "Mode", Choice::pick(&[("autonomous", "Autonomous (own approvals)"), ("replica", "Replica (approvals from the upstream)")], &v("mode", s.mode.as_str()))))
        .field(Field::select("storage", "Update files", Choice::pick(&[("approved", "Store locally, download once approved"), ("all", "Store locally, download at synchronization"), ("none", "Do not store: clients download from Microsoft Update")], &v("storage", s.storage.as_str()))))
        .field(Field::checkbox("scheduled", "Synchronize automatically", scheduled))
        .field(Field::new("time", "first_sync", "First synchronization (UTC)", v("first_sync", s.schedule.as_ref().map(|x| x.first_sync.as_str()).unwrap_or("03:00"))).error(sent.err(f, "first_sync")))
        .field(Field::new("number", "per_day", "Synchronizations per day", v("per_day", &s.schedule.as_ref().map(|x| x.per_day).unwrap_or(1).to_string())).error(sent.err(f, "per_day")))
        .button(Button::new("Save"))
        .error(sent.refusal(f));
    page.push(readonly_unless(session, form));
    html(status, page.html())
}

async fn save_synchronization(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let api = posted.session.api(&cs);
    let mut settings = match api.get::<SyncSettings>("/sync/settings").await {
        Ok(s) => s,
        Err(r) => return failed(&posted.session, &cs, "Synchronization", Section::Options, r),
    };
    let mut sent = Submitted::of("sync", f);
    let upstream = f.get("upstream");
    if !(upstream.starts_with("http://") || upstream.starts_with("https://")) {
        sent.add("upstream", "Enter the upstream server's URL (http:// or https://).");
    }
    settings.upstream = upstream.to_string();
    settings.mode = if f.get("mode") == "replica" { SyncMode::Replica } else { SyncMode::Autonomous };
    settings.storage = StorageMode::parse(f.get("storage")).unwrap_or(StorageMode::Approved);
    settings.schedule = None;
    if f.ticked("scheduled") {
        let per_day = match f.number::<u32>("per_day") {
            Ok(Some(n)) if (1..=24).contains(&n) => n,
            _ => {
                sent.add("per_day", "Between 1 and 24.");
                1
            }
        };
        let schedule = Schedule { first_sync: f.get("first_sync").to_string(), per_day };
        if schedule.first_minute().is_none() {
            sent.add("first_sync", "A time of day, HH:MM.");
        }
        settings.schedule = Some(schedule);
    }
    if sent.failed() {
        return render_synchronization(&posted.session, &cs, "", sent, StatusCode::BAD_REQUEST).await;
    }
    match api.send::<SyncSettings>(Method::PUT, "/sync/settings", &settings).await {
        Ok(_) => see_other("/options/synchronization?notice=saved"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_synchronization(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

// ------------------------------------------------------------------ computers (targeting)

async fn computers(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let s = match session.api(&cs).get::<TargetingSettings>("/settings/targeting").await {
        Ok(s) => s,
        Err(r) => return failed(&session, &cs, "Computers", Section::Options, r),
    };
    let mut page = options_page(&session, &cs, "Computers", Some(Fields(q).get("notice")));
    let form = Form::post("targeting", "/options/computers", &session.csrf())
        .field(Field::select("mode", "Assign computers to groups", Choice::pick(&[("server", "On this server (Computers page)"), ("client", "By Group Policy on the computers (client-side targeting)")], s.mode.as_str())))
        .button(Button::new("Save"));
    page.push(readonly_unless(&session, form));
    html(StatusCode::OK, page.html())
}

async fn save_computers(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let Some(mode) = TargetingMode::parse(posted.fields.get("mode")) else {
        return crate::console::refused(&posted.session, &cs, StatusCode::BAD_REQUEST, "Choose a targeting mode from the list. Nothing was changed.");
    };
    match posted.session.api(&cs).send::<TargetingSettings>(Method::PUT, "/settings/targeting", &TargetingSettings { mode }).await {
        Ok(_) => see_other("/options/computers?notice=saved"),
        Err(r) => failed(&posted.session, &cs, "Computers", Section::Options, r),
    }
}

// ------------------------------------------------------------------ cleanup

async fn cleanup(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_cleanup(&session, &cs, Fields(q).get("notice"), Submitted::default(), None, StatusCode::OK).await
}

async fn render_cleanup(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, report: Option<CleanupReport>, status: StatusCode) -> Response {
    let api = session.api(cs);
    let (s, history) = match (api.get::<CleanupSettings>("/cleanup/settings").await, api.get::<Vec<CleanupRunView>>("/cleanup/history?limit=20").await) {
        (Ok(s), Ok(h)) => (s, h),
        (Err(r), _) | (_, Err(r)) => return failed(session, cs, "Server Cleanup", Section::Options, r),
    };
    let mut page = options_page(session, cs, "Server Cleanup", Some(notice));
    let f = "cleanup";
    let v = |name: &str, now: &str| sent.value(f, name, now);
    let enabled = if sent.form == f { sent.fields.ticked("enabled") } else { s.enabled };
    let form = Form::post(f, "/options/cleanup", &session.csrf())
        .title("Scheduled cleanup")
        .field(Field::checkbox("enabled", "Clean up every day", enabled))
        .field(Field::new("time", "schedule", "At (UTC)", v("schedule", &s.schedule)).error(sent.err(f, "schedule")))
        .field(Field::new("number", "superseded_days", "Decline updates superseded for at least (days)", v("superseded_days", &s.superseded_days.to_string())).error(sent.err(f, "superseded_days")))
        .field(Field::new("number", "stale_computer_days", "Remove computers silent for (days)", v("stale_computer_days", &s.stale_computer_days.to_string())).error(sent.err(f, "stale_computer_days")))
        .button(Button::new("Save"))
        .error(sent.refusal(f));
    page.push(readonly_unless(session, form));
    page.push_control(
        Form::post("run-cleanup", "/options/cleanup/run", &session.csrf())
            .title("Run now")
            .field(Field::checkbox("dry_run", "Only show what would be cleaned up", false))
            .button(Button::new("Run cleanup"))
            .error(sent.refusal("run-cleanup")),
    );
    if let Some(r) = report {
        page.push(Heading(if r.run.dry_run { "What a cleanup would do" } else { "What the cleanup did" }.to_string()));
        page.push(Note(format!(
            "{} superseded and {} expired updates declined, {} files ({}) deleted, {} computers removed.",
            r.superseded.len(), r.expired.len(), r.files.len(), bytes(r.run.bytes_freed.max(0) as u64), r.computers.len()
        )));
    }
    page.push(Heading("History".into()));
    let mut t = Table::new("cleanup-history", &["Started", "By", "Dry run", "Superseded declined", "Expired declined", "Files deleted", "Space freed", "Computers removed", "Error"])
        .empty("No cleanup has run yet.");
    for run in &history {
        t.row(vec![
            Cell::text(time(&run.started_at)),
            Cell::text(&run.requested_by),
            Cell::text(if run.dry_run { "yes" } else { "no" }),
            Cell::text(run.superseded_declined.to_string()),
            Cell::text(run.expired_declined.to_string()),
            Cell::text(run.files_deleted.to_string()),
            Cell::text(bytes(run.bytes_freed.max(0) as u64)),
            Cell::text(run.computers_removed.to_string()),
            Cell::text(run.error.clone().unwrap_or_default()),
        ]);
    }
    page.push(t);
    html(status, page.html())
}

async fn save_cleanup(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("cleanup", f);
    let days = |sent: &mut Submitted, name: &'static str| match f.number::<i64>(name) {
        Ok(Some(n)) if n >= 0 => Some(n),
        _ => {
            sent.add(name, "A number of days, 0 or more.");
            None
        }
    };
    let superseded_days = days(&mut sent, "superseded_days");
    let stale_computer_days = days(&mut sent, "stale_computer_days");
    let schedule = f.get("schedule").to_string();
    if (Schedule { first_sync: schedule.clone(), per_day: 1 }).first_minute().is_none() {
        sent.add("schedule", "A time of day, HH:MM.");
    }
    if sent.failed() {
        return render_cleanup(&posted.session, &cs, "", sent, None, StatusCode::BAD_REQUEST).await;
    }
    let change = CleanupSettingsChange { enabled: Some(f.ticked("enabled")), schedule: Some(schedule), superseded_days, stale_computer_days };
    match posted.session.api(&cs).send::<CleanupSettings>(Method::PUT, "/cleanup/settings", &change).await {
        Ok(_) => see_other("/options/cleanup?notice=saved"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_cleanup(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

async fn run_cleanup(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let request = CleanupRequest { dry_run: posted.fields.ticked("dry_run") };
    match posted.session.api(&cs).post::<CleanupReport>("/cleanup", &request).await {
        // The report is shown once, on this answer: it is not kept in a URL.
        Ok(report) => render_cleanup(&posted.session, &cs, "cleanup-done", Submitted::default(), Some(report), StatusCode::OK).await,
        Err(r) => {
            let mut sent = Submitted::of("run-cleanup", &posted.fields);
            sent.refusal = Some(r.message);
            render_cleanup(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

// ------------------------------------------------------------------ e-mail

async fn email(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_email(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render_email(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let n = match session.api(cs).get::<NotifyView>("/notify/settings").await {
        Ok(n) => n,
        Err(r) => return failed(session, cs, "E-Mail Notifications", Section::Options, r),
    };
    let mut page = options_page(session, cs, "E-Mail Notifications", Some(notice));
    if let Some(e) = &n.last_error {
        page.push(Note(format!("Last failure ({}): {e}", opt_time(n.last_error_at.as_deref()))));
    }
    let f = "email";
    let v = |name: &str, now: &str| sent.value(f, name, now);
    let new_updates = if sent.form == f { sent.fields.ticked("new_updates") } else { n.new_updates };
    let form = Form::post(f, "/options/email", &session.csrf())
        .field(Field::new("text", "smtp", "SMTP server (host:port)", v("smtp", n.smtp.as_deref().unwrap_or(""))).required().error(sent.err(f, "smtp")))
        .field(Field::select("tls", "Encryption", Choice::pick(&[("starttls", "STARTTLS"), ("tls", "TLS"), ("none", "None")], &v("tls", n.tls.as_str()))))
        .field(Field::new("text", "user", "User name (optional)", v("user", n.user.as_deref().unwrap_or(""))))
        .field(Field::new("password", "password", "Password", "").help(if n.password_set { "Set; leave empty to keep it." } else { "Not set." }))
        .field(Field::new("email", "from", "Sender address", v("from", n.from.as_deref().unwrap_or(""))).required().error(sent.err(f, "from")))
        .field(Field::new("text", "to", "Recipients (comma-separated)", v("to", &n.to.join(", "))).required().error(sent.err(f, "to")))
        .field(Field::checkbox("new_updates", "Mail when new updates are synchronized", new_updates))
        .field(Field::select("status_report", "Status report", Choice::pick(&[("off", "Off"), ("daily", "Daily"), ("weekly", "Weekly")], &v("status_report", n.status_report.as_str()))))
        .button(Button::new("Save"))
        .error(sent.refusal(f));
    page.push(readonly_unless(session, form));
    if n.configured {
        page.push_control(Form::post("test-email", "/options/email/test", &session.csrf()).button(Button::new("Send a test e-mail")).error(sent.refusal("test-email")));
    }
    html(status, page.html())
}

async fn save_email(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("email", f);
    if f.get("smtp").is_empty() {
        sent.add("smtp", "Enter the SMTP server.");
    }
    if !f.get("from").contains('@') {
        sent.add("from", "Enter an e-mail address.");
    }
    let to: Vec<String> = f.get("to").split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if to.is_empty() || to.iter().any(|a| !a.contains('@')) {
        sent.add("to", "Enter one or more e-mail addresses, separated by commas.");
    }
    if sent.failed() {
        return render_email(&posted.session, &cs, "", sent, StatusCode::BAD_REQUEST).await;
    }
    let change = NotifySettingsChange {
        smtp: f.get("smtp").to_string(),
        tls: SmtpTls::parse(f.get("tls")).unwrap_or_default(),
        user: Some(f.get("user").to_string()).filter(|u| !u.is_empty()),
        password: Some(f.get("password").to_string()).filter(|p| !p.is_empty()),
        from: f.get("from").to_string(),
        to,
        new_updates: f.ticked("new_updates"),
        status_report: ReportFrequency::parse(f.get("status_report")).unwrap_or_default(),
    };
    match posted.session.api(&cs).send::<NotifyView>(Method::PUT, "/notify/settings", &change).await {
        Ok(_) => see_other("/options/email?notice=saved"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_email(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn test_email(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    match posted.session.api(&cs).post::<NotifyTestResult>("/notify/test", &serde_json::json!({})).await {
        Ok(_) => see_other("/options/email?notice=mail-sent"),
        Err(r) => {
            let mut sent = Submitted::of("test-email", &posted.fields);
            sent.refusal = Some(r.message);
            render_email(&posted.session, &cs, "", sent, r.status).await
        }
    }
}
