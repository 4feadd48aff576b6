//! The Servers node (issue #14): every trusted server side by side (reachable, version, last
//! sync, computers, compliance), the hierarchy of upstream and downstream servers as this
//! server knows it, a compliance report across them (CSV too), and trusting or forgetting a
//! server. Always about this server's own list, whatever the switcher says.

use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{AddServerRequest, DownstreamView, ServerInfo, ServerOverview, TrustedServerView};
use sluice_console::format::opt_time;
use sluice_console::{Button, Cell, Field, Form, Heading, Note, Section, Table, Tone};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, Fields, Submitted};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/servers", get(servers).post(trust))
        .route("/servers/remove", post(forget))
        .route("/servers/compliance.csv", get(compliance_csv))
}

fn label(o: &ServerOverview) -> String {
    o.name.clone().unwrap_or_else(|| "This server".into())
}

fn last_sync(i: &ServerInfo) -> String {
    match &i.last_sync {
        Some(l) => format!("{} {}", l.result, opt_time(l.finished_at.as_deref())),
        None => "never".into(),
    }
}

fn share(i: &ServerInfo) -> String {
    if i.computers == 0 {
        return "—".into();
    }
    format!("{}%", 100 * (i.computers - i.computers_needing).max(0) / i.computers)
}

async fn servers(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let api = session.local_api(cs);
    let overview = match api.get::<Vec<ServerOverview>>("/servers/overview").await {
        Ok(o) => o,
        Err(r) => return failed(session, cs, "Servers", Section::Servers, r),
    };
    let downstreams = api.get::<Vec<DownstreamView>>("/downstreams").await.unwrap_or_default();
    let mut page = session.page(cs, "Servers", Section::Servers, Some(notice));
    page.push(Note("This server and every server it trusts, each asked just now. Choose one in the switcher above to work on it.".into()));
    let mut t = Table::new("servers", &["Server", "Address", "State", "Version", "Mode", "Last synchronization", "Computers", "Needing updates", "Failed installs", "Not needing"]);
    for o in &overview {
        let state = match (&o.info, &o.error) {
            (Some(_), _) => Cell::badge("Reachable", Tone::Good),
            (None, Some(e)) if e.starts_with("access revoked") => Cell::badge("Access revoked", Tone::Bad),
            (None, Some(e)) if !o.reachable => Cell::badge(format!("Unreachable: {}", e.trim_start_matches("unreachable: ")), Tone::Bad),
            (None, Some(e)) => Cell::badge(e.clone(), Tone::Bad),
            (None, None) => Cell::badge("Unknown", Tone::Warn),
        };
        let name = match &o.name {
            Some(n) => Cell::link(n, format!("/switch?server={}", enc(n))),
            None => Cell::link("This server", "/switch"),
        };
        let i = o.info.as_ref();
        t.row(vec![
            name,
            Cell::text(if o.url.is_empty() { "—".to_string() } else { o.url.clone() }),
            state,
            Cell::text(i.map(|i| i.version.clone()).unwrap_or_default()),
            Cell::text(i.map(|i| i.mode.clone()).unwrap_or_default()),
            Cell::text(i.map(last_sync).unwrap_or_default()),
            Cell::text(i.map(|i| i.computers.to_string()).unwrap_or_default()),
            Cell::text(i.map(|i| i.computers_needing.to_string()).unwrap_or_default()),
            Cell::text(i.map(|i| i.computers_failed.to_string()).unwrap_or_default()),
            Cell::text(i.map(share).unwrap_or_default()),
        ]);
    }
    page.push(t);

    page.push(Heading("Hierarchy".into()));
    let mut h = Table::new("hierarchy", &["Server", "Relation", "Mode", "Computers", "Not needing", "Last synchronization"]);
    let me = overview.first().and_then(|o| o.info.clone());
    if let Some(me) = &me {
        h.row(vec![Cell::text(&me.upstream), Cell::text("upstream of this server"), Cell::text(""), Cell::text(""), Cell::text(""), Cell::text("")]);
        h.row(vec![Cell::text(format!("\u{2003}{} (this server)", me.host_name)), Cell::text("—"), Cell::text(&me.mode), Cell::text(me.computers.to_string()), Cell::text(share(me)), Cell::text(last_sync(me))]);
    }
    let trusted_by_id = |id: &str| overview.iter().skip(1).find(|o| o.info.as_ref().is_some_and(|i| i.server_id.eq_ignore_ascii_case(id)));
    let mut untrusted = Vec::new();
    for d in &downstreams {
        match trusted_by_id(&d.id) {
            Some(o) => {
                let Some(i) = o.info.as_ref() else { continue };
                h.row(vec![Cell::text(format!("\u{2003}\u{2003}{} (trusted as {})", d.name, label(o))), Cell::text("downstream"), Cell::text(&i.mode), Cell::text(i.computers.to_string()), Cell::text(share(i)), Cell::text(last_sync(i))]);
                // The trusted server's own downstream servers, as it told us.
                for child in &i.downstream_server_ids {
                    let known = trusted_by_id(child).map(label).unwrap_or_else(|| child.clone());
                    h.row(vec![Cell::text(format!("\u{2003}\u{2003}\u{2003}{known}")), Cell::text(format!("downstream of {}", label(o))), Cell::text(""), Cell::text(""), Cell::text(""), Cell::text("")]);
                }
            }
            None => {
                h.row(vec![Cell::text(format!("\u{2003}\u{2003}{}", d.name)), Cell::text("downstream, not trusted"), Cell::text(&d.mode), Cell::text(d.computers.len().to_string()), Cell::text(""), Cell::text(opt_time(d.last_sync_time.as_deref()))]);
                untrusted.push(d);
            }
        }
    }
    for o in overview.iter().skip(1) {
        let downstream = o.info.as_ref().is_some_and(|i| downstreams.iter().any(|d| d.id.eq_ignore_ascii_case(&i.server_id)));
        if !downstream {
            let i = o.info.as_ref();
            h.row(vec![
                Cell::text(label(o)),
                Cell::text("trusted, elsewhere in the hierarchy"),
                Cell::text(i.map(|i| i.mode.clone()).unwrap_or_default()),
                Cell::text(i.map(|i| i.computers.to_string()).unwrap_or_default()),
                Cell::text(i.map(share).unwrap_or_default()),
                Cell::text(i.map(last_sync).unwrap_or_else(|| o.error.clone().unwrap_or_default())),
            ]);
        }
    }
    page.push(h);

    page.push(Heading("Compliance across servers".into()));
    let mut c = Table::new("compliance", &["Server", "Computers", "Needing updates", "Failed installs", "Not needing"]);
    let (mut computers, mut needing, mut failing) = (0, 0, 0);
    for o in &overview {
        if let Some(i) = &o.info {
            computers += i.computers;
            needing += i.computers_needing;
            failing += i.computers_failed;
            c.row(vec![Cell::text(label(o)), Cell::text(i.computers.to_string()), Cell::text(i.computers_needing.to_string()), Cell::text(i.computers_failed.to_string()), Cell::text(share(i))]);
        }
    }
    let all = ServerInfo { computers, computers_needing: needing, computers_failed: failing, ..overview[0].info.clone().unwrap_or_else(empty_info) };
    c.row(vec![Cell::text("All reachable servers"), Cell::text(computers.to_string()), Cell::text(needing.to_string()), Cell::text(failing.to_string()), Cell::text(share(&all))]);
    page.push(c);
    page.push(sluice_console::Markup("<p><a href=\"/servers/compliance.csv\">Download as CSV</a></p>".into()));

    let f = "trust";
    page.push_control(
        Form::post(f, "/servers", &session.csrf())
            .title("Trust a server")
            .field(Field::new("text", "name", "Name", sent.value(f, "name", "")).required().error(sent.err(f, "name")))
            .field(Field::new("url", "url", "Admin address", sent.value(f, "url", "https://")).required().help("Its admin listener, e.g. https://branch.contoso.com:8580").error(sent.err(f, "url")))
            .field(Field::new("password", "token", "API token issued on that server", "").required().help("Make one there with: sluice tokens create --label \"trusted by this server\"").error(sent.err(f, "token")))
            .field(Field::new("textarea", "ca_cert", "CA certificate (PEM, optional)", sent.value(f, "ca_cert", "")))
            .button(Button::new("Trust"))
            .error(sent.refusal(f)),
    );
    for d in untrusted {
        let guess = d.name.split('.').next().unwrap_or(&d.name).to_string();
        let url = d.address.as_deref().map(|a| format!("http://{a}:8580")).unwrap_or_default();
        page.push_control(
            Form::post(&format!("trust-{}", d.id), "/servers", &session.csrf())
                .title(format!("Trust downstream server {}", d.name))
                .field(Field::new("hidden", "name", "", guess))
                .field(Field::new("url", "url", "Admin address", url))
                .field(Field::new("password", "token", "API token issued on it", "").required())
                .button(Button::new("Trust")),
        );
    }
    let names: Vec<sluice_console::Choice> = overview.iter().filter_map(|o| o.name.clone()).map(|n| sluice_console::Choice::new(n.clone(), n, false)).collect();
    if !names.is_empty() {
        page.push_control(
            Form::post("forget", "/servers/remove", &session.csrf())
                .title("Stop trusting a server")
                .field(Field::select("name", "Server", names))
                .button(Button::new("Forget").danger())
                .error(sent.refusal("forget")),
        );
    }
    html(status, page.html())
}

fn empty_info() -> ServerInfo {
    ServerInfo {
        server_id: String::new(),
        version: String::new(),
        host_name: String::new(),
        mode: String::new(),
        upstream: String::new(),
        last_sync: None,
        computers: 0,
        computers_needing: 0,
        computers_failed: 0,
        downstream_server_ids: Vec::new(),
    }
}

async fn trust(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("trust", f);
    if f.get("name").is_empty() {
        sent.add("name", "Enter a name for it.");
    }
    if !(f.get("url").starts_with("http://") || f.get("url").starts_with("https://")) || f.get("url").len() < 10 {
        sent.add("url", "Enter its admin address, http(s)://host:port.");
    }
    if f.get("token").is_empty() {
        sent.add("token", "Enter a token issued on that server.");
    }
    if sent.failed() {
        return render(&posted.session, &cs, "", sent, StatusCode::BAD_REQUEST).await;
    }
    let req = AddServerRequest {
        name: f.get("name").to_string(),
        url: f.get("url").to_string(),
        token: f.get("token").to_string(),
        ca_cert: Some(f.get("ca_cert").to_string()).filter(|c| !c.is_empty()),
    };
    match posted.session.local_api(&cs).post::<TrustedServerView>("/servers", &req).await {
        Ok(_) => see_other("/servers?notice=server-trusted"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn forget(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let name = posted.fields.get("name");
    match posted.session.local_api(&cs).act(Method::DELETE, &format!("/servers/{}", enc(name)), None).await {
        Ok(()) => see_other("/servers?notice=server-forgotten"),
        Err(r) => {
            let mut sent = Submitted::of("forget", &posted.fields);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn compliance_csv(session: Session, State(cs): State<ConsoleState>) -> Response {
    let overview = match session.local_api(&cs).get::<Vec<ServerOverview>>("/servers/overview").await {
        Ok(o) => o,
        Err(r) => return failed(&session, &cs, "Servers", Section::Servers, r),
    };
    let mut out = String::from("server,reachable,computers,needing,failed,error\r\n");
    for o in &overview {
        let quote = |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
        let (c, n, f) = o.info.as_ref().map(|i| (i.computers, i.computers_needing, i.computers_failed)).unwrap_or((0, 0, 0));
        out.push_str(&format!("{},{},{c},{n},{f},{}\r\n", quote(&label(o)), o.info.is_some(), quote(o.error.as_deref().unwrap_or(""))));
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"sluice-servers-compliance.csv\"")], out).into_response()
}
