//! Options › Users and Tokens (who may sign in, with which role; API tokens, shown once when
//! made) and Options › Audit Log.

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{AuditEntryView, CreateTokenRequest, CreateUserRequest, CreatedToken, Role, TokenView, UpdateUserRequest, UserView};
use sluice_console::format::{opt_time, time};
use sluice_console::{Button, Cell, Choice, Facts, Field, Form, Heading, Note, Section, Table, Tone};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, query, Fields, Submitted};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/options/users", get(users).post(create_user))
        .route("/options/users/change", post(change_user))
        .route("/options/tokens", post(create_token))
        .route("/options/tokens/revoke", post(revoke_token))
        .route("/options/audit", get(audit))
}

fn role_choices(chosen: &str) -> Vec<Choice> {
    vec![
        Choice::new("reporter", "Reporter (reads everything, changes nothing)", chosen != "administrator"),
        Choice::new("administrator", "Administrator (everything)", chosen == "administrator"),
    ]
}

async fn users(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_users(&session, &cs, Fields(q).get("notice"), Submitted::default(), None, StatusCode::OK).await
}

async fn render_users(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, made: Option<CreatedToken>, status: StatusCode) -> Response {
    let api = session.api(cs);
    let (people, tokens) = match (api.get::<Vec<UserView>>("/users").await, api.get::<Vec<TokenView>>("/tokens").await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(r), _) | (_, Err(r)) => return failed(session, cs, "Users and Tokens", Section::Options, r),
    };
    let mut page = session.page(cs, "Users and Tokens", Section::Options, Some(notice)).trail("Options", "/options");
    if let Some(t) = made {
        page.push(Heading("New token".into()));
        page.push(Note("Copy it now: it is shown only this once.".into()));
        page.push(Facts(vec![("Token".into(), Cell::text(t.token)), ("Label".into(), Cell::text(t.info.label)), ("Expires".into(), Cell::text(opt_time(t.info.expires_at.as_deref())))]));
    }
    page.push(Heading("Users".into()));
    let mut t = Table::new("users", &["User", "Role", "State", "Created"]);
    for u in &people {
        t.row(vec![
            Cell::text(&u.name),
            Cell::text(if u.role == Role::Administrator { "Administrator" } else { "Reporter" }),
            if u.disabled { Cell::badge("Disabled", Tone::Bad) } else { Cell::badge("Enabled", Tone::Good) },
            Cell::text(time(&u.created_at)),
        ]);
    }
    page.push(t);
    let f = "new-user";
    page.push_control(
        Form::post(f, "/options/users", &session.csrf())
            .title("New user")
            .field(Field::new("text", "name", "User name", sent.value(f, "name", "")).required().error(sent.err(f, "name")))
            .field(Field::select("role", "Role", role_choices(&sent.value(f, "role", "reporter"))))
            .field(Field::new("password", "password", "Password", "").required().help("At least 8 characters.").error(sent.err(f, "password")))
            .button(Button::new("Create user"))
            .error(sent.refusal(f)),
    );
    let c = "change-user";
    let pick: Vec<Choice> = people.iter().map(|u| Choice::new(u.name.clone(), u.name.clone(), sent.value(c, "name", "") == u.name)).collect();
    page.push_control(
        Form::post(c, "/options/users/change", &session.csrf())
            .title("Change a user")
            .field(Field::select("name", "User", pick))
            .field(Field::select("role", "New role", vec![Choice::new("", "Keep", true), Choice::new("reporter", "Reporter", false), Choice::new("administrator", "Administrator", false)]))
            .field(Field::new("password", "password", "New password (optional)", "").error(sent.err(c, "password")))
            .button(Button::named("Save", "do", "save"))
            .button(Button::named("Disable", "do", "disable"))
            .button(Button::named("Enable", "do", "enable"))
            .button(Button::named("Delete", "do", "delete").danger())
            .error(sent.refusal(c)),
    );
    page.push(Heading("Tokens".into()));
    let mut t = Table::new("tokens", &["Id", "User", "Label", "Kind", "Created", "Last used", "Expires", "State"]);
    for k in tokens.iter().filter(|k| !k.revoked) {
        t.row(vec![
            Cell::text(k.id.to_string()),
            Cell::text(&k.user),
            Cell::text(&k.label),
            Cell::text(&k.kind),
            Cell::text(time(&k.created_at)),
            Cell::text(opt_time(k.last_used_at.as_deref())),
            Cell::text(opt_time(k.expires_at.as_deref())),
            Cell::badge("Active", Tone::Good),
        ]);
    }
    page.push(t);
    let k = "new-token";
    let users: Vec<Choice> = people.iter().map(|u| Choice::new(u.name.clone(), u.name.clone(), u.name == session.user)).collect();
    page.push_control(
        Form::post(k, "/options/tokens", &session.csrf())
            .title("New API token")
            .field(Field::select("user", "For user", users))
            .field(Field::new("text", "label", "Label", sent.value(k, "label", "")))
            .field(Field::new("text", "expires", "Expires after (e.g. 90d, 12h; empty: never)", sent.value(k, "expires", "90d")).error(sent.err(k, "expires")))
            .button(Button::new("Create token"))
            .error(sent.refusal(k)),
    );
    let live: Vec<Choice> = tokens.iter().filter(|t| !t.revoked).map(|t| Choice::new(t.id.to_string(), format!("{} — {} ({})", t.id, t.label, t.user), false)).collect();
    if !live.is_empty() {
        page.push_control(
            Form::post("revoke-token", "/options/tokens/revoke", &session.csrf())
                .title("Revoke a token")
                .field(Field::select("id", "Token", live))
                .button(Button::new("Revoke").danger())
                .error(sent.refusal("revoke-token")),
        );
    }
    html(status, page.html())
}

async fn create_user(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("new-user", f);
    if f.get("name").is_empty() {
        sent.add("name", "Enter a user name.");
    }
    let password = f.0.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default();
    if password.chars().count() < 8 {
        sent.add("password", "At least 8 characters.");
    }
    if sent.failed() {
        return render_users(&posted.session, &cs, "", sent, None, StatusCode::BAD_REQUEST).await;
    }
    let role = if f.get("role") == "administrator" { Role::Administrator } else { Role::Reporter };
    let request = CreateUserRequest { name: f.get("name").to_string(), role, password };
    match posted.session.api(&cs).post::<UserView>("/users", &request).await {
        Ok(_) => see_other("/options/users?notice=user-created"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_users(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

async fn change_user(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("change-user", f);
    let path = format!("/users/{}", enc(f.get("name")));
    let api = posted.session.api(&cs);
    let done = match f.get("do") {
        "delete" => api.act(Method::DELETE, &path, None).await,
        "disable" | "enable" => {
            let change = UpdateUserRequest { disabled: Some(f.get("do") == "disable"), ..UpdateUserRequest::default() };
            api.send::<UserView>(Method::PATCH, &path, &change).await.map(drop)
        }
        _ => {
            let password = f.0.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).filter(|p| !p.is_empty());
            if password.as_ref().is_some_and(|p| p.chars().count() < 8) {
                sent.add("password", "At least 8 characters.");
                return render_users(&posted.session, &cs, "", sent, None, StatusCode::BAD_REQUEST).await;
            }
            let role = match f.get("role") {
                "administrator" => Some(Role::Administrator),
                "reporter" => Some(Role::Reporter),
                _ => None,
            };
            api.send::<UserView>(Method::PATCH, &path, &UpdateUserRequest { role, disabled: None, password }).await.map(drop)
        }
    };
    match done {
        Ok(()) => see_other("/options/users?notice=user-changed"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_users(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

async fn create_token(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let request = CreateTokenRequest {
        user: Some(f.get("user").to_string()).filter(|u| !u.is_empty()),
        label: Some(f.get("label").to_string()).filter(|l| !l.is_empty()),
        expires_in: Some(f.get("expires").to_string()).filter(|e| !e.is_empty()),
    };
    match posted.session.api(&cs).post::<CreatedToken>("/tokens", &request).await {
        // Shown on this answer only: a secret never goes into a redirect's URL.
        Ok(t) => render_users(&posted.session, &cs, "token-created", Submitted::default(), Some(t), StatusCode::OK).await,
        Err(r) => {
            let mut sent = Submitted::of("new-token", f);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_users(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

async fn revoke_token(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let id = posted.fields.get("id");
    match posted.session.api(&cs).act(Method::DELETE, &format!("/tokens/{}", enc(id)), None).await {
        Ok(()) => see_other("/options/users?notice=token-revoked"),
        Err(r) => {
            let mut sent = Submitted::of("revoke-token", &posted.fields);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_users(&posted.session, &cs, "", sent, None, r.status).await
        }
    }
}

async fn audit(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = Fields(q);
    let path = format!("/audit{}", query(&[("user", q.get("user")), ("since", q.get("since")), ("limit", "200")]));
    let mut page = session.page(&cs, "Audit Log", Section::Options, None).trail("Options", "/options");
    let form = Form::get("audit-filter", "/options/audit")
        .field(Field::new("text", "user", "User", q.get("user")))
        .field(Field::new("date", "since", "Since", q.get("since")))
        .button(Button::new("Filter"));
    let entries = match session.api(&cs).get::<Vec<AuditEntryView>>(&path).await {
        Ok(e) => e,
        Err(r) => {
            page.push(form.error(Some(r.message)));
            return html(r.status, page.html());
        }
    };
    page.push(form);
    page.push(Note("The newest 200 entries that match.".into()));
    let mut t = Table::new("audit", &["When", "User", "Action", "Object", "Detail", "Address"]).empty("No entry matches.");
    for e in &entries {
        t.row(vec![
            Cell::text(time(&e.at)),
            Cell::text(&e.user),
            Cell::text(&e.action),
            Cell::text(&e.target),
            Cell::text(&e.detail),
            Cell::text(e.address.clone().unwrap_or_default()),
        ]);
    }
    page.push(t);
    html(StatusCode::OK, page.html())
}
