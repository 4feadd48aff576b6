//! Console pages that show how things stand: Dashboard, Downstream Servers,
//! Synchronizations (history, live progress, start now) and Reports (compliance per group,
//! per update, per computer, with CSV downloads).

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{
    ComplianceReport, ComputerReport, DownstreamView, FleetSummary, UpdatePage,
    UpdateReport,
};
use sluice_api::sync::{JobView, SyncStatus, SyncView};
use sluice_console::format::{opt_time, state, time};
use sluice_console::{
    chart, Block, Button, Card, Cards, Cell, Facts, Field, Form, Heading, Live, Markup, Note, Pager, Section, Table,
    Tone,
};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, query, Fields};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/downstream-servers", get(downstream_servers))
        .route("/synchronizations", get(synchronizations))
        .route("/synchronizations/progress", get(progress))
        .route("/synchronizations/start", post(start_sync))
        .route("/reports", get(reports))
        .route("/reports/csv", get(report_csv))
}

async fn dashboard(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = Fields(q);
    let api = session.api(&cs);
    let summary = match api.get::<FleetSummary>("/reports/summary").await {
        Ok(s) => s,
        Err(r) => return failed(&session, &cs, "Dashboard", Section::Dashboard, r),
    };
    let sync = api.get::<SyncStatus>("/sync/status").await.ok();
    let downstreams = api.get::<Vec<DownstreamView>>("/downstreams").await.map(|d| d.len()).ok();
    let unapproved = api.get::<UpdatePage>("/updates?approval=unapproved&needed=1&limit=1").await.map(|p| p.total).ok();
    let mut page = session.page(&cs, "Dashboard", Section::Dashboard, Some(q.get("notice")));
    let all = summary.groups.first();
    let count = |f: fn(&sluice_api::GroupStandingView) -> i64| all.map(f).unwrap_or(0);
    let mut cards = vec![
        Card { label: "computers".into(), value: count(|g| g.computers).to_string(), href: Some("/computers".into()), tone: Tone::Plain },
        Card {
            label: "needing updates".into(),
            value: count(|g| g.needing).to_string(),
            href: Some("/reports".into()),
            tone: if count(|g| g.needing) > 0 { Tone::Warn } else { Tone::Good },
        },
        Card {
            label: "with failed installs".into(),
            value: count(|g| g.failed).to_string(),
            href: Some("/reports".into()),
            tone: if count(|g| g.failed) > 0 { Tone::Bad } else { Tone::Good },
        },
        Card { label: "not yet reported".into(), value: count(|g| g.not_reported).to_string(), href: None, tone: Tone::Plain },
    ];
    if let Some(n) = unapproved {
        cards.push(Card {
            label: "needed updates not approved".into(),
            value: n.to_string(),
            href: Some("/updates?approval=unapproved&needed=1".into()),
            tone: if n > 0 { Tone::Warn } else { Tone::Good },
        });
    }
    if let Some(n) = downstreams {
        cards.push(Card { label: "downstream servers".into(), value: n.to_string(), href: Some("/downstream-servers".into()), tone: Tone::Plain });
    }
    let (sync_value, sync_label, sync_tone) = match sync.as_ref() {
        Some(s) if s.running.is_some() => ("Running".to_string(), "synchronization".to_string(), Tone::Warn),
        Some(SyncStatus { last: Some(l), .. }) => (
            title_case(&l.result),
            format!("last synchronization, {}", opt_time(l.finished_at.as_deref())),
            if l.result == "succeeded" { Tone::Good } else { Tone::Bad },
        ),
        _ => ("Never".to_string(), "synchronized".to_string(), Tone::Warn),
    };
    cards.push(Card { label: sync_label, value: sync_value, href: Some("/synchronizations".into()), tone: sync_tone });
    page.push(Cards(cards));
    page.push(Heading("Compliance per computer group".into()));
    page.push(Markup(chart::group_compliance(&summary.groups)));
    let mut t = Table::new("groups", &["Computer group", "Computers", "Up to date", "Needing updates", "Failed installs", "Not reported"]);
    for g in &summary.groups {
        t.row(vec![
            Cell::link(&g.group, format!("/computers{}", query(&[("group", &g.group)]))),
            Cell::text(g.computers.to_string()),
            Cell::text(g.up_to_date.to_string()),
            Cell::text(g.needing.to_string()),
            Cell::text(g.failed.to_string()),
            Cell::text(g.not_reported.to_string()),
        ]);
    }
    page.push(t);
    html(StatusCode::OK, page.html())
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

async fn downstream_servers(session: Session, State(cs): State<ConsoleState>) -> Response {
    let servers = match session.api(&cs).get::<Vec<DownstreamView>>("/downstreams").await {
        Ok(s) => s,
        Err(r) => return failed(&session, &cs, "Downstream Servers", Section::DownstreamServers, r),
    };
    let mut page = session.page(&cs, "Downstream Servers", Section::DownstreamServers, None);
    page.push(Note("Servers that synchronize from this one, as they identified themselves and rolled up their computers.".into()));
    let mut t = Table::new("downstream-servers", &["Name", "Mode", "Version", "Address", "Last synchronization", "Last rollup", "Computers"])
        .empty("No downstream server has synchronized from this server yet.");
    for s in &servers {
        t.row(vec![
            Cell::text(&s.name),
            Cell::text(&s.mode),
            Cell::text(s.version.clone().unwrap_or_else(|| "—".into())),
            Cell::text(s.address.clone().unwrap_or_else(|| "—".into())),
            Cell::text(opt_time(s.last_sync_time.as_deref())),
            Cell::text(opt_time(s.last_rollup_time.as_deref())),
            Cell::text(s.computers.len().to_string()),
        ]);
    }
    page.push(t);
    html(StatusCode::OK, page.html())
}

/// The running synchronization's progress, or the last one's result.
fn progress_block(status: &SyncStatus) -> Live {
    let inner = match (&status.running, &status.progress) {
        (Some(job), progress) => {
            let (phase, done, total) = match progress {
                Some(p) => (p.phase.clone(), p.done, p.total),
                None => (job.state.clone(), job.done, job.total),
            };
            let pct = if total > 0 { (100 * done / total).clamp(0, 100) } else { 0 };
            format!(
                "<p><span class=\"badge warn\">Running</span> {} — {done} of {total}</p>\
                 <progress max=\"100\" value=\"{pct}\" aria-label=\"Synchronization progress\">{pct}%</progress>",
                sluice_console::escape(&phase)
            )
        }
        (None, _) => match &status.last {
            Some(l) => format!(
                "<p>Last synchronization: <span class=\"badge {}\">{}</span> {}</p>",
                if l.result == "succeeded" { "good" } else { "bad" },
                sluice_console::escape(&title_case(&l.result)),
                sluice_console::escape(&opt_time(l.finished_at.as_deref()))
            ),
            None => "<p>This server has not synchronized yet.</p>".into(),
        },
    };
    Live { url: "/synchronizations/progress".into(), active: status.running.is_some(), inner }
}

async fn progress(session: Session, State(cs): State<ConsoleState>) -> Response {
    match session.api(&cs).get::<SyncStatus>("/sync/status").await {
        Ok(s) => html(StatusCode::OK, progress_block(&s).html()),
        Err(r) => html(r.status, format!("<div class=\"live\" data-active=\"false\"><p class=\"error\">{}</p></div>", sluice_console::escape(&r.message))),
    }
}

async fn synchronizations(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = Fields(q);
    let api = session.api(&cs);
    let (status, history) = match (api.get::<SyncStatus>("/sync/status").await, api.get::<Vec<SyncView>>("/sync/history?limit=50").await) {
        (Ok(s), Ok(h)) => (s, h),
        (Err(r), _) | (_, Err(r)) => return failed(&session, &cs, "Synchronizations", Section::Synchronizations, r),
    };
    let mut page = session.page(&cs, "Synchronizations", Section::Synchronizations, Some(q.get("notice")));
    page.push(progress_block(&status));
    let schedule = match &status.settings.schedule {
        Some(s) => format!("{} a day, first at {} UTC", s.per_day, s.first_sync),
        None => "Manual only".into(),
    };
    page.push(Facts(vec![
        ("Upstream server".into(), Cell::text(&status.settings.upstream)),
        ("Mode".into(), Cell::text(title_case(status.settings.mode.as_str()))),
        ("Schedule".into(), Cell::link(schedule, "/options/synchronization")),
    ]));
    page.push_control(
        Form::post("start-sync", "/synchronizations/start", &session.csrf()).button(Button::new("Synchronize now")),
    );
    page.push(Heading("History".into()));
    let mut t = Table::new("sync-history", &["Started", "Finished", "Result", "New revisions", "Revised", "Expired", "Upstream", "Error"])
        .empty("No synchronization yet.");
    for s in &history {
        t.row(vec![
            Cell::text(time(&s.started_at)),
            Cell::text(opt_time(s.finished_at.as_deref())),
            Cell::badge(title_case(&s.result), match s.result.as_str() {
                "succeeded" => Tone::Good,
                "running" => Tone::Warn,
                _ => Tone::Bad,
            }),
            Cell::text(s.new_revisions.to_string()),
            Cell::text(s.revised.to_string()),
            Cell::text(s.expired.to_string()),
            Cell::text(&s.upstream),
            Cell::text(s.error.clone().unwrap_or_default()),
        ]);
    }
    page.push(t);
    html(StatusCode::OK, page.html())
}

async fn start_sync(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    match posted.session.api(&cs).post::<JobView>("/sync/start", &serde_json::json!({})).await {
        Ok(_) => see_other("/synchronizations?notice=sync-started"),
        Err(r) => failed(&posted.session, &cs, "Synchronizations", Section::Synchronizations, r),
    }
}

/// Which report `/reports` shows: `kind` is `group` (default), `update` or `computer`.
fn report_path(kind: &str, q: &Fields, limit: u32, offset: u32) -> Result<String, (&'static str, String)> {
    let group = q.get("group");
    let paging = |extra: &[(&str, &str)]| {
        let (l, o) = (limit.to_string(), offset.to_string());
        let mut pairs = vec![("group", group), ("limit", l.as_str()), ("offset", o.as_str())];
        pairs.extend_from_slice(extra);
        query(&pairs)
    };
    match kind {
        "update" => {
            let update = q.get("update");
            if update.is_empty() {
                return Err(("update", "Enter an update id or KB number.".into()));
            }
            Ok(format!("/reports/updates/{}{}", enc(update), paging(&[("state", q.get("state"))])))
        }
        "computer" => {
            let computer = q.get("computer");
            if computer.is_empty() {
                return Err(("computer", "Enter a computer id.".into()));
            }
            Ok(format!("/reports/computers/{}", enc(computer)))
        }
        _ => Ok(format!("/reports/compliance{}", paging(&[]))),
    }
}

const REPORT_PAGE: u32 = 200;

async fn reports(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = Fields(q);
    let kind = match q.get("kind") {
        "update" => "update",
        "computer" => "computer",
        _ => "group",
    };
    let offset = q.number::<u32>("offset").ok().flatten().unwrap_or(0);
    let groups = crate::console_computers::group_names(&session, &cs).await;
    let mut page = session.page(&cs, "Reports", Section::Reports, None);
    let mut form = Form::get("choose-report", "/reports")
        .field(Field::select("kind", "Report", vec![
            sluice_console::Choice::new("group", "Compliance per computer group", kind == "group"),
            sluice_console::Choice::new("update", "Status of an update", kind == "update"),
            sluice_console::Choice::new("computer", "Status of a computer", kind == "computer"),
        ]))
        .field(Field::select("group", "Computer group", crate::console_computers::group_choices(&groups, q.get("group"), true)))
        .field(Field::new("search", "update", "Update (id or KB)", q.get("update")))
        .field(Field::select("state", "Update status", vec![
            sluice_console::Choice::new("", "Needed (failed included)", q.get("state").is_empty()),
            sluice_console::Choice::new("failed", "Failed", q.get("state") == "failed"),
            sluice_console::Choice::new("installed", "Installed", q.get("state") == "installed"),
            sluice_console::Choice::new("not_applicable", "Not applicable", q.get("state") == "not_applicable"),
            sluice_console::Choice::new("all", "Any", q.get("state") == "all"),
        ]))
        .field(Field::new("search", "computer", "Computer id", q.get("computer")))
        .button(Button::new("Show report"));
    let path = match report_path(kind, &q, REPORT_PAGE, offset) {
        Ok(p) => p,
        Err((field, why)) => {
            if q.ticked("kind") {
                for f in &mut form.fields {
                    if f.name == field {
                        f.error = Some(why.clone());
                    }
                }
            }
            page.push(form);
            return html(if q.ticked("kind") { StatusCode::BAD_REQUEST } else { StatusCode::OK }, page.html());
        }
    };
    let csv_href = format!("/reports/csv{}", {
        let pairs: Vec<(&str, &str)> = q.0.iter().filter(|(k, _)| k != "offset").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        query(&pairs)
    });
    let api = session.api(&cs);
    let link_here = |o: u32| {
        let mut pairs: Vec<(&str, String)> = q.0.iter().filter(|(k, _)| k != "offset").map(|(k, v)| (k.as_str(), v.clone())).collect();
        pairs.push(("offset", o.to_string()));
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/reports{}", query(&borrowed))
    };
    match kind {
        "update" => match api.get::<UpdateReport>(&path).await {
            Ok(r) => {
                page.push(form);
                page.push(Heading(format!("{} — {}", r.title, r.group)));
                page.push(Cards(vec![
                    Card { label: "installed".into(), value: r.installed.to_string(), href: None, tone: Tone::Good },
                    Card { label: "needed".into(), value: r.needed.to_string(), href: None, tone: Tone::Warn },
                    Card { label: "failed".into(), value: r.failed.to_string(), href: None, tone: Tone::Bad },
                    Card { label: "not applicable".into(), value: r.not_applicable.to_string(), href: None, tone: Tone::Plain },
                    Card { label: "no status".into(), value: r.not_reported.to_string(), href: None, tone: Tone::Plain },
                ]));
                page.push(Markup(format!("<p><a href=\"{}\">Download as CSV</a></p>", sluice_console::escape(&csv_href))));
                let mut t = Table::new("report", &["Computer", "Status", "Reported"]).empty("No computer in this status.");
                for row in &r.rows {
                    let (label, tone) = state(&row.state);
                    t.row(vec![
                        Cell::link(row.dns_name.clone().unwrap_or_else(|| row.computer_id.clone()), format!("/computers/{}", enc(&row.computer_id))),
                        Cell::badge(label, tone),
                        Cell::text(time(&row.last_event_time)),
                    ]);
                }
                page.push(t);
                page.push(Pager::new(r.total, r.offset, r.limit, r.rows.len(), link_here));
            }
            Err(e) => return report_failed(page, form, e),
        },
        "computer" => match api.get::<ComputerReport>(&path).await {
            Ok(r) => {
                page.push(form);
                page.push(Heading(r.dns_name.clone().unwrap_or_else(|| r.computer_id.clone())));
                page.push(Markup(format!("<p><a href=\"{}\">Download as CSV</a></p>", sluice_console::escape(&csv_href))));
                let mut t = Table::new("report", &["Update", "KB", "Status", "Reported"]).empty("This computer has reported no update status.");
                for row in &r.updates {
                    let (label, tone) = state(&row.state);
                    t.row(vec![
                        Cell::link(&row.title, format!("/updates/{}", enc(&row.update_id))),
                        Cell::text(row.kb_article.clone().unwrap_or_default()),
                        Cell::badge(label, tone),
                        Cell::text(time(&row.last_event_time)),
                    ]);
                }
                page.push(t);
            }
            Err(e) => return report_failed(page, form, e),
        },
        _ => match api.get::<ComplianceReport>(&path).await {
            Ok(r) => {
                page.push(form);
                page.push(Heading(format!("{} — {} computers", r.group, r.computers)));
                page.push(Markup(format!("<p><a href=\"{}\">Download as CSV</a></p>", sluice_console::escape(&csv_href))));
                let mut t = Table::new("report", &["Update", "KB", "Installed", "Needed", "Failed", "Not applicable", "No status"])
                    .empty("No computer of this group has reported an applicable update.");
                for row in &r.updates {
                    t.row(vec![
                        Cell::link(&row.title, format!("/updates/{}", enc(&row.update_id))),
                        Cell::text(row.kb_article.clone().unwrap_or_default()),
                        Cell::text(row.installed.to_string()),
                        Cell::text(row.needed.to_string()),
                        Cell::text(row.failed.to_string()),
                        Cell::text(row.not_applicable.to_string()),
                        Cell::text(row.not_reported.to_string()),
                    ]);
                }
                page.push(t);
                page.push(Pager::new(r.total, r.offset, r.limit, r.updates.len(), link_here));
            }
            Err(e) => return report_failed(page, form, e),
        },
    }
    html(StatusCode::OK, page.html())
}

fn report_failed(mut page: sluice_console::Page, form: Form, e: crate::console_api::Refusal) -> Response {
    page.push(form.error(Some(e.message)));
    html(e.status, page.html())
}

/// The report the page shows, as CSV (up to 10,000 rows).
async fn report_csv(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = Fields(q);
    let kind = q.get("kind").to_string();
    let path = match report_path(&kind, &q, 10_000, 0) {
        Ok(p) => p,
        Err((_, why)) => return failed(&session, &cs, "Reports", Section::Reports, crate::console_api::Refusal { status: StatusCode::BAD_REQUEST, message: why }),
    };
    match session.api(&cs).csv(&path).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"sluice-{}-report.csv\"", if kind.is_empty() { "group" } else { &kind })),
            ],
            text,
        )
            .into_response(),
        Err(r) => failed(&session, &cs, "Reports", Section::Reports, r),
    }
}
