//! The Computers node: the computer group tree, the computers of a group (paged), a
//! computer's page with its update status, moving a computer between groups, and creating
//! and deleting groups.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{ComputerDetail, ComputerGroupView, ComputerView, CreateGroupRequest, MoveComputerRequest};
use sluice_console::format::{opt_time, state, time};
use sluice_console::{Button, Cell, Choice, Facts, Field, Form, Heading, Pager, Section, Table};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, query, Fields};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/computers", get(list))
        .route("/computers/groups", post(create_group))
        .route("/computers/groups/delete", post(delete_group))
        .route("/computers/{id}", get(show))
        .route("/computers/{id}/move", post(move_computer))
}

const PAGE: u32 = 100;

/// Every group name, built-in ones first then by path (empty when the API will not say).
pub(crate) async fn group_names(session: &Session, cs: &ConsoleState) -> Vec<String> {
    let mut groups = session.api(cs).get::<Vec<ComputerGroupView>>("/groups").await.unwrap_or_default();
    groups.sort_by(|a, b| (!a.built_in, &a.path).cmp(&(!b.built_in, &b.path)));
    groups.into_iter().map(|g| g.name).collect()
}

/// A group picker; `any` adds an empty first choice meaning "All Computers".
pub(crate) fn group_choices(groups: &[String], chosen: &str, any: bool) -> Vec<Choice> {
    let mut out = Vec::new();
    if any {
        out.push(Choice::new("", "All Computers", chosen.is_empty()));
    } else {
        out.push(Choice::new("", "Choose a group", chosen.is_empty()));
    }
    for g in groups {
        if any && g == "All Computers" {
            continue;
        }
        out.push(Choice::new(g.clone(), g.clone(), chosen.eq_ignore_ascii_case(g)));
    }
    out
}

fn tree(groups: &[ComputerGroupView], current: &str) -> Table {
    let mut sorted: Vec<&ComputerGroupView> = groups.iter().collect();
    sorted.sort_by(|a, b| (!a.built_in, &a.path).cmp(&(!b.built_in, &b.path)));
    let mut t = Table::new("group-tree", &["Computer group", "Computers", "Approvals"]);
    for g in sorted {
        let depth = g.path.matches('/').count();
        let label = format!("{}{}", "\u{2003}".repeat(depth), g.name);
        let mut name = Cell::link(label, format!("/computers{}", query(&[("group", &g.name)])));
        if g.name.eq_ignore_ascii_case(current) || (current.is_empty() && g.name == "All Computers") {
            name = Cell::badge(format!("{}{} (shown)", "\u{2003}".repeat(depth), g.name), sluice_console::Tone::Good);
        }
        t.row(vec![name, Cell::text(g.computers.to_string()), Cell::text(g.approvals.to_string())]);
    }
    t
}

#[derive(Default)]
struct GroupFormState {
    fields: Fields,
    error: Option<String>,
    name_error: Option<String>,
}

async fn list(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_list(&session, &cs, &Fields(q), GroupFormState::default(), StatusCode::OK).await
}

async fn render_list(session: &Session, cs: &ConsoleState, q: &Fields, form: GroupFormState, status: StatusCode) -> Response {
    let api = session.api(cs);
    let groups = match api.get::<Vec<ComputerGroupView>>("/groups").await {
        Ok(g) => g,
        Err(r) => return failed(session, cs, "Computers", Section::Computers, r),
    };
    let group = q.get("group");
    let shown = if group.is_empty() { "All Computers" } else { group };
    let offset = q.number::<u32>("offset").ok().flatten().unwrap_or(0);
    let path = format!("/computers{}", query(&[("group", group), ("limit", &PAGE.to_string()), ("offset", &offset.to_string())]));
    let computers = match api.get::<Vec<ComputerView>>(&path).await {
        Ok(c) => c,
        Err(r) => return failed(session, cs, "Computers", Section::Computers, r),
    };
    let total = groups.iter().find(|g| g.name.eq_ignore_ascii_case(shown)).map(|g| g.computers).unwrap_or(computers.len() as i64);
    let mut page = session.page(cs, "Computers", Section::Computers, Some(q.get("notice")));
    page.push(Heading("Computer groups".into()));
    page.push(tree(&groups, group));
    let names: Vec<String> = groups.iter().filter(|g| !g.built_in).map(|g| g.name.clone()).collect();
    page.push_control(
        Form::post("new-group", "/computers/groups", &session.csrf())
            .title("Add a computer group")
            .field(Field::new("text", "name", "Name", form.fields.get("name")).required().error(form.name_error.clone()))
            .field(Field::select("parent", "Under", group_choices(&groups.iter().filter(|g| g.name != "Unassigned Computers").map(|g| g.name.clone()).collect::<Vec<_>>(), form.fields.get("parent"), true)))
            .button(Button::new("Add group"))
            .error(form.error.clone()),
    );
    if !names.is_empty() {
        page.push_control(
            Form::post("delete-group", "/computers/groups/delete", &session.csrf())
                .title("Delete a computer group")
                .field(Field::select("name", "Group", group_choices(&names, "", false)))
                .button(Button::new("Delete group").danger())
                .confirm("Delete this group? Its approvals go with it; its computers stay."),
        );
    }
    page.push(Heading(format!("Computers in {shown}")));
    let mut t = Table::new("computers", &["Name", "IP address", "Operating system", "Groups", "Last contact", "Last status report"])
        .empty("No computer in this group.");
    for c in &computers {
        t.row(vec![
            Cell::link(c.dns_name.clone().unwrap_or_else(|| c.id.clone()), format!("/computers/{}", enc(&c.id))),
            Cell::text(c.ip_address.clone().unwrap_or_default()),
            Cell::text(c.os_description.clone().unwrap_or_default()),
            Cell::text(c.groups.join(", ")),
            Cell::text(opt_time(c.last_sync_time.as_deref())),
            Cell::text(opt_time(c.last_reported_status_time.as_deref())),
        ]);
    }
    page.push(t);
    page.push(Pager::new(total, offset, PAGE, computers.len(), |o| format!("/computers{}", query(&[("group", group), ("offset", &o.to_string())]))));
    html(status, page.html())
}

async fn create_group(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let name = f.get("name");
    if name.is_empty() {
        let state = GroupFormState { fields: f.clone(), error: None, name_error: Some("Enter a name.".into()) };
        return render_list(&posted.session, &cs, &Fields::default(), state, StatusCode::BAD_REQUEST).await;
    }
    let parent = Some(f.get("parent")).filter(|p| !p.is_empty()).map(str::to_string);
    let request = CreateGroupRequest { name: name.to_string(), parent };
    match posted.session.api(&cs).post::<ComputerGroupView>("/groups", &request).await {
        Ok(_) => see_other("/computers?notice=group-created"),
        Err(r) => {
            let state = GroupFormState { fields: f.clone(), error: Some(format!("Nothing was changed: {}", r.message)), name_error: None };
            render_list(&posted.session, &cs, &Fields::default(), state, r.status).await
        }
    }
}

async fn delete_group(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let name = posted.fields.get("name");
    if name.is_empty() {
        let state = GroupFormState { error: Some("Choose the group to delete.".into()), ..GroupFormState::default() };
        return render_list(&posted.session, &cs, &Fields::default(), state, StatusCode::BAD_REQUEST).await;
    }
    match posted.session.api(&cs).act(Method::DELETE, &format!("/groups/{}", enc(name)), None).await {
        Ok(()) => see_other("/computers?notice=group-deleted"),
        Err(r) => {
            let state = GroupFormState { error: Some(format!("Nothing was changed: {}", r.message)), ..GroupFormState::default() };
            render_list(&posted.session, &cs, &Fields::default(), state, r.status).await
        }
    }
}

async fn show(session: Session, State(cs): State<ConsoleState>, Path(id): Path<String>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_computer(&session, &cs, &id, &Fields(q), None, StatusCode::OK).await
}

async fn render_computer(session: &Session, cs: &ConsoleState, id: &str, q: &Fields, move_error: Option<String>, status: StatusCode) -> Response {
    let api = session.api(cs);
    let c = match api.get::<ComputerDetail>(&format!("/computers/{}", enc(id))).await {
        Ok(c) => c,
        Err(r) => return failed(session, cs, "Computer", Section::Computers, r),
    };
    let groups = group_names(session, cs).await;
    let v = &c.computer;
    let name = v.dns_name.clone().unwrap_or_else(|| v.id.clone());
    let mut page = session.page(cs, &name, Section::Computers, Some(q.get("notice"))).trail("Computers", "/computers");
    page.push(Facts(vec![
        ("Computer id".into(), Cell::text(&v.id)),
        ("IP address".into(), Cell::text(v.ip_address.clone().unwrap_or_else(|| "—".into()))),
        ("Operating system".into(), Cell::text(format!("{} {}", v.os_description.clone().unwrap_or_default(), v.os_version.clone().unwrap_or_default()))),
        ("Make and model".into(), Cell::text(format!("{} {}", c.manufacturer.clone().unwrap_or_default(), c.model.clone().unwrap_or_default()))),
        ("Windows Update Agent".into(), Cell::text(v.client_version.clone().unwrap_or_else(|| "—".into()))),
        ("Groups".into(), Cell::text(v.groups.join(", "))),
        ("Last contact".into(), Cell::text(opt_time(v.last_sync_time.as_deref()))),
        ("Last status report".into(), Cell::text(opt_time(v.last_reported_status_time.as_deref()))),
        ("Needed / failed / installed".into(), Cell::text(format!("{} / {} / {}", c.counts.needed, c.counts.failed, c.counts.installed + c.counts.installed_pending_reboot))),
    ]));
    let member: Vec<Choice> = groups
        .iter()
        .filter(|g| *g != "All Computers" && *g != "Unassigned Computers")
        .map(|g| Choice::new(g.clone(), g.clone(), v.groups.iter().any(|m| m.eq_ignore_ascii_case(g))))
        .collect();
    page.push_control(
        Form::post("move", format!("/computers/{}/move", enc(&v.id)), &session.csrf())
            .title("Change membership")
            .field(Field::multi("groups", "Computer groups", member).help("None selected: Unassigned Computers.").error(move_error))
            .button(Button::new("Move computer")),
    );
    page.push(Heading("Update status".into()));
    let mut t = Table::new("update-status", &["Update", "Status", "Reported"]).empty("This computer has reported no update status yet.");
    for s in &c.status {
        let (label, tone) = state(&s.state);
        t.row(vec![Cell::link(&s.title, format!("/updates/{}", enc(&s.update_id))), Cell::badge(label, tone), Cell::text(time(&s.last_event_time))]);
    }
    page.push(t);
    page.push(Heading("Approvals that apply".into()));
    let mut a = Table::new("effective-approvals", &["Update", "Approval", "Deadline", "From group"]).empty("No approval applies to this computer.");
    for e in &c.approvals {
        a.row(vec![
            Cell::link(&e.title, format!("/updates/{}", enc(&e.update_id))),
            Cell::text(sluice_console::format::action(e.action.as_str())),
            Cell::text(opt_time(e.deadline.as_deref())),
            Cell::text(&e.group),
        ]);
    }
    page.push(a);
    html(status, page.html())
}

async fn move_computer(State(cs): State<ConsoleState>, Path(id): Path<String>, posted: Posted) -> Response {
    let request = MoveComputerRequest { groups: posted.fields.all("groups") };
    match posted.session.api(&cs).post::<serde_json::Value>(&format!("/computers/{}/move", enc(&id)), &request).await {
        Ok(_) => see_other(&format!("/computers/{}?notice=moved", enc(&id))),
        Err(r) => render_computer(&posted.session, &cs, &id, &Fields::default(), Some(format!("Nothing was changed: {}", r.message)), r.status).await,
    }
}
