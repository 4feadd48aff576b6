//! The Updates node: finding updates (search by title, KB or id; filters), approving and
//! declining them in bulk, and an update's page (properties, files, supersedence, approvals,
//! per-computer status) with its approve and decline forms.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{ApprovalRequest, ApprovalView, BulkApprovalRequest, BulkApprovalResult, CategoryView, UpdateDetail, UpdatePage, UpdateReport, UpdateSummary};
use sluice_console::format::{action, bytes, deadline, opt_time, state, time};
use sluice_console::{Button, Cell, Choice, Facts, Field, Form, Heading, Note, Pager, Section, Table, Tone};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, query, Fields, Refusal};
use crate::console_computers::{group_choices, group_names};

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/updates", get(list))
        .route("/updates/bulk", post(bulk))
        .route("/updates/{id}", get(show))
        .route("/updates/{id}/approve", post(approve))
        .route("/updates/{id}/decline", post(decline))
}

const PAGE: u32 = 100;

/// The filters of the list, by the names the page's query string uses.
const FILTERS: [&str; 8] = ["q", "classification", "product", "approval", "group", "status", "superseded", "sort"];

/// The admin API query of the list's filters; `Err` names a field and what is wrong.
fn api_query(q: &Fields, offset: u32) -> Result<String, (&'static str, String)> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let text = q.get("q");
    if let Some(kb) = text.strip_prefix("KB").or_else(|| text.strip_prefix("kb")).filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit())) {
        pairs.push(("kb", kb.to_string()));
    } else if !text.is_empty() && !(text.len() == 36 && uuid::Uuid::parse_str(text).is_ok()) {
        pairs.push(("text", text.to_string()));
    }
    pairs.push(("classification", q.get("classification").to_string()));
    pairs.push(("product", q.get("product").to_string()));
    match q.get("approval") {
        "" => {}
        a @ ("unapproved" | "approved" | "declined" | "not_declined") => pairs.push(("approval", a.to_string())),
        _ => return Err(("approval", "Choose an approval state from the list.".into())),
    }
    if !q.get("group").is_empty() {
        if !matches!(q.get("approval"), "" | "approved") {
            return Err(("group", "A group filters approved updates only: choose \"Any\" or \"Approved\" approval.".into()));
        }
        pairs.push(("group", q.get("group").to_string()));
    }
    match q.get("status") {
        "" => {}
        "needed" => pairs.push(("needed", "1".into())),
        "failed" => pairs.push(("failed", "1".into())),
        _ => return Err(("status", "Choose a status from the list.".into())),
    }
    match q.get("superseded") {
        "" => {}
        "yes" => pairs.push(("superseded", "true".into())),
        "no" => pairs.push(("superseded", "false".into())),
        _ => return Err(("superseded", "Choose yes or no.".into())),
    }
    match q.get("sort") {
        "" | "release" => {}
        s @ ("title" | "kb" | "needed" | "failed") => {
            pairs.push(("sort", s.to_string()));
            if s == "needed" || s == "failed" {
                pairs.push(("desc", "true".into()));
            }
        }
        _ => return Err(("sort", "Choose an order from the list.".into())),
    }
    pairs.push(("limit", PAGE.to_string()));
    pairs.push(("offset", offset.to_string()));
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(format!("/updates{}", query(&borrowed)))
}

/// The list's own query string (filters only), to come back to after a bulk change.
fn filters_query(q: &Fields) -> String {
    let pairs: Vec<(&str, &str)> = FILTERS.iter().map(|k| (*k, q.get(k))).collect();
    query(&pairs)
}

fn category_choices(all: &[CategoryView], chosen: &str, none_label: &str) -> Vec<Choice> {
    let mut out = vec![Choice::new("", none_label, chosen.is_empty())];
    let mut named: Vec<&CategoryView> = all.iter().filter(|c| c.name.is_some()).collect();
    named.sort_by(|a, b| a.name.cmp(&b.name));
    for c in named {
        let name = c.name.clone().unwrap_or_default();
        out.push(Choice::new(c.id.clone(), name, chosen == c.id));
    }
    out
}

/// A group picker whose empty first choice means "any group" (a filter), not "choose one".
fn any_group(mut choices: Vec<Choice>) -> Vec<Choice> {
    if let Some(first) = choices.first_mut() {
        first.label = "Any group".into();
    }
    choices
}

/// What a failed bulk submission brings back to the list.
#[derive(Default)]
struct BulkState {
    fields: Fields,
    errors: Vec<(&'static str, String)>,
    refusal: Option<String>,
}

async fn list(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_list(&session, &cs, &Fields(q), BulkState::default(), StatusCode::OK).await
}

async fn render_list(session: &Session, cs: &ConsoleState, q: &Fields, bulk: BulkState, status: StatusCode) -> Response {
    let api = session.api(cs);
    let offset = q.number::<u32>("offset").ok().flatten().unwrap_or(0);
    let classifications = api.get::<Vec<CategoryView>>("/classifications").await.unwrap_or_default();
    let products = api.get::<Vec<CategoryView>>("/products").await.unwrap_or_default();
    let groups = group_names(session, cs).await;
    let mut page = session.page(cs, "Updates", Section::Updates, Some(q.get("notice")));
    let (found, filter_error) = match api_query(q, offset) {
        Ok(path) => {
            let text = q.get("q");
            if text.len() == 36 && uuid::Uuid::parse_str(text).is_ok() {
                // An update id: that update, if this server has it.
                match api.get::<UpdateDetail>(&format!("/updates/{}", enc(text))).await {
                    Ok(d) => (Ok(UpdatePage { total: 1, limit: PAGE, offset: 0, items: vec![d.summary] }), None),
                    Err(r) if r.status == StatusCode::NOT_FOUND => (Ok(UpdatePage { total: 0, limit: PAGE, offset: 0, items: vec![] }), None),
                    Err(r) => (Err(r), None),
                }
            } else {
                (api.get::<UpdatePage>(&path).await, None)
            }
        }
        Err(e) => (Ok(UpdatePage { total: 0, limit: PAGE, offset: 0, items: vec![] }), Some(e)),
    };
    let err = |name: &str| filter_error.as_ref().filter(|(f, _)| *f == name).map(|(_, m)| m.clone());
    page.push(
        Form::get("find", "/updates")
            .field(Field::new("search", "q", "Title, KB or update id", q.get("q")))
            .field(Field::select("classification", "Classification", category_choices(&classifications, q.get("classification"), "Any")))
            .field(Field::select("product", "Product", category_choices(&products, q.get("product"), "Any")))
            .field(Field::select("approval", "Approval", Choice::pick(&[("", "Any"), ("unapproved", "Unapproved"), ("approved", "Approved"), ("declined", "Declined"), ("not_declined", "Not declined")], q.get("approval"))).error(err("approval")))
            .field(Field::select("group", "Approved for", any_group(group_choices(&groups, q.get("group"), false))).error(err("group")))
            .field(Field::select("status", "Status", Choice::pick(&[("", "Any"), ("needed", "Needed by a computer"), ("failed", "Failed on a computer")], q.get("status"))).error(err("status")))
            .field(Field::select("superseded", "Superseded", Choice::pick(&[("", "Any"), ("no", "No"), ("yes", "Yes")], q.get("superseded"))).error(err("superseded")))
            .field(Field::select("sort", "Order", Choice::pick(&[("", "Newest first"), ("title", "Title"), ("kb", "KB"), ("needed", "Most needed"), ("failed", "Most failed")], q.get("sort"))).error(err("sort")))
            .button(Button::new("Search")),
    );
    let found = match found {
        Ok(f) => f,
        Err(r) => {
            page.layout.error = Some(r.message);
            return html(r.status, page.html());
        }
    };
    let back = filters_query(q);
    let mut t = Table::new("updates", &["Title", "KB", "Classification", "Severity", "Released", "Needed", "Failed", "Installed", "Approval"])
        .empty("No update matches.");
    if session.can_change() {
        t.select = Some(("bulk".into(), "update".into()));
    }
    for u in &found.items {
        t.rows.push(sluice_console::Row { cells: summary_cells(u), select: Some(u.update_id.clone()) });
    }
    page.push(t);
    page.push(Pager::new(found.total, found.offset, found.limit, found.items.len(), |o| {
        let mut pairs: Vec<(&str, &str)> = FILTERS.iter().map(|k| (*k, q.get(k))).collect();
        let o = o.to_string();
        pairs.push(("offset", &o));
        format!("/updates{}", query(&pairs))
    }));
    let b = &bulk.fields;
    let berr = |name: &str| bulk.errors.iter().find(|(f, _)| *f == name).map(|(_, m)| m.clone());
    let chosen_groups = b.all("groups");
    let group_pick = groups.iter().filter(|g| *g != "Unassigned Computers").map(|g| Choice::new(g.clone(), g.clone(), chosen_groups.contains(g))).collect();
    page.push_control(
        Form::post("bulk", "/updates/bulk", &session.csrf())
            .title("Approve or decline the selected updates")
            .field(Field::new("hidden", "back", "", back))
            .field(Field::select("action", "Action", Choice::pick(&[("install", "Approve for install"), ("uninstall", "Approve for removal"), ("not_approved", "Not approved"), ("decline", "Decline")], b.get("action"))).error(berr("action")))
            .field(Field::multi("groups", "Computer groups", group_pick).help("For approvals; a decline applies to every group.").error(berr("groups")))
            .field(Field::new("datetime-local", "deadline", "Deadline (UTC, optional)", b.get("deadline")).error(berr("deadline")))
            .field(Field::checkbox("accept_license", "Accept the license terms of updates that have some", b.ticked("accept_license")))
            .field(Field::new("hidden", "selection", "", "").error(berr("update")))
            .button(Button::new("Apply to selected updates"))
            .error(bulk.refusal.clone())
            .confirm("Apply this change to every selected update?"),
    );
    html(status, page.html())
}

fn summary_cells(u: &UpdateSummary) -> Vec<Cell> {
    vec![
        Cell::link(&u.title, format!("/updates/{}", enc(&u.update_id))),
        Cell::text(u.kb_article.as_deref().map(|k| format!("KB{k}")).unwrap_or_default()),
        Cell::text(u.classification.clone().unwrap_or_default()),
        Cell::text(u.msrc_severity.clone().unwrap_or_default()),
        Cell::text(opt_time(u.creation_date.as_deref()).split(' ').next().unwrap_or("").to_string()),
        Cell::text(u.needed.to_string()),
        Cell::text(u.failed.to_string()),
        Cell::text(u.installed.to_string()),
        if u.declined { Cell::badge("Declined", Tone::Bad) } else { Cell::text("") },
    ]
}

async fn bulk(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let back = Fields::parse(f.get("back").trim_start_matches('?').as_bytes()).unwrap_or_default();
    let mut errors = Vec::new();
    let updates = f.all("update");
    if updates.is_empty() {
        errors.push(("update", "Select at least one update in the list.".to_string()));
    }
    let act = f.get("action");
    if !matches!(act, "install" | "uninstall" | "not_approved" | "decline") {
        errors.push(("action", "Choose an action from the list.".into()));
    }
    let groups = f.all("groups");
    if act != "decline" && groups.is_empty() {
        errors.push(("groups", "Choose at least one computer group.".into()));
    }
    let deadline = match deadline(f.get("deadline")) {
        Ok(d) => d,
        Err(e) => {
            errors.push(("deadline", e));
            None
        }
    };
    if !errors.is_empty() {
        let state = BulkState { fields: f.clone(), errors, refusal: None };
        return render_list(&posted.session, &cs, &back, state, StatusCode::BAD_REQUEST).await;
    }
    let request = BulkApprovalRequest {
        updates,
        filter: None,
        groups: if act == "decline" { vec![] } else { groups },
        action: Some(act.to_string()),
        deadline: if act == "decline" { None } else { deadline },
        accept_license: f.ticked("accept_license"),
        dry_run: false,
    };
    match posted.session.api(&cs).post::<BulkApprovalResult>("/approvals/bulk", &request).await {
        Ok(_) => {
            let mut pairs: Vec<(&str, &str)> = FILTERS.iter().map(|k| (*k, back.get(k))).collect();
            pairs.push(("notice", "bulk"));
            see_other(&format!("/updates{}", query(&pairs)))
        }
        Err(r) => {
            let state = BulkState { fields: f.clone(), errors: Vec::new(), refusal: Some(format!("Nothing was changed: {}", r.message)) };
            render_list(&posted.session, &cs, &back, state, r.status).await
        }
    }
}

/// What a failed approval brings back to the update's page.
#[derive(Default)]
struct ApproveState {
    fields: Fields,
    errors: Vec<(&'static str, String)>,
    refusal: Option<String>,
}

async fn show(session: Session, State(cs): State<ConsoleState>, Path(id): Path<String>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_update(&session, &cs, &id, &Fields(q), ApproveState::default(), StatusCode::OK).await
}

async fn render_update(session: &Session, cs: &ConsoleState, id: &str, q: &Fields, form: ApproveState, status: StatusCode) -> Response {
    let api = session.api(cs);
    let detail = match api.get::<UpdateDetail>(&format!("/updates/{}", enc(id))).await {
        Ok(d) => d,
        Err(r) => return failed(session, cs, "Update", Section::Updates, r),
    };
    let u = &detail.summary;
    let approvals = api.get::<Vec<ApprovalView>>(&format!("/approvals{}", query(&[("update", &u.update_id)]))).await.unwrap_or_default();
    let offset = q.number::<u32>("offset").ok().flatten().unwrap_or(0);
    let report_path = format!("/reports/updates/{}{}", enc(&u.update_id), query(&[("state", "all"), ("limit", "100"), ("offset", &offset.to_string())]));
    let report = api.get::<UpdateReport>(&report_path).await;
    let groups = group_names(session, cs).await;
    let mut page = session.page(cs, &u.title, Section::Updates, Some(q.get("notice"))).trail("Updates", "/updates");
    page.push(Facts(vec![
        ("Update id".into(), Cell::text(&u.update_id)),
        ("Revision".into(), Cell::text(u.revision_number.to_string())),
        ("KB article".into(), Cell::text(u.kb_article.as_deref().map(|k| format!("KB{k}")).unwrap_or_else(|| "—".into()))),
        ("Classification".into(), Cell::text(u.classification.clone().unwrap_or_else(|| "—".into()))),
        ("Products".into(), Cell::text(if u.products.is_empty() { "—".into() } else { u.products.join(", ") })),
        ("MSRC severity".into(), Cell::text(u.msrc_severity.clone().unwrap_or_else(|| "—".into()))),
        ("MSRC number".into(), Cell::text(u.msrc_number.clone().unwrap_or_else(|| "—".into()))),
        ("Released".into(), Cell::text(opt_time(u.creation_date.as_deref()))),
        ("Type".into(), Cell::text(&u.update_type)),
        ("Declined".into(), if u.declined { Cell::badge("Declined", Tone::Bad) } else { Cell::text("No") }),
        ("Description".into(), Cell::text(detail.description.clone().unwrap_or_else(|| "—".into()))),
        ("Command line".into(), Cell::text(detail.command_line.clone().unwrap_or_else(|| "—".into()))),
    ]));

    page.push(Heading("Approvals".into()));
    let mut t = Table::new("approvals", &["Computer group", "Approval", "Deadline", "By", "When"]).empty("Not approved for any group.");
    for a in &approvals {
        t.row(vec![
            Cell::text(&a.group),
            Cell::badge(action(a.action.as_str()), if a.action == sluice_api::ApprovalAction::Install { Tone::Good } else { Tone::Plain }),
            Cell::text(opt_time(a.deadline.as_deref())),
            Cell::text(&a.approved_by),
            Cell::text(time(&a.approved_at)),
        ]);
    }
    page.push(t);
    let f = &form.fields;
    let err = |name: &str| form.errors.iter().find(|(n, _)| *n == name).map(|(_, m)| m.clone());
    let approve = Form::post("approve", format!("/updates/{}/approve", enc(&u.update_id)), &session.csrf())
        .title("Approve")
        .field(Field::select("group", "Computer group", group_choices(&groups, f.get("group"), false)).required().error(err("group")))
        .field(Field::select("action", "Approval", Choice::pick(&[("install", "Approved for install"), ("uninstall", "Approved for removal"), ("not_approved", "Not approved")], f.get("action"))).error(err("action")))
        .field(Field::new("datetime-local", "deadline", "Deadline (UTC, optional)", f.get("deadline")).error(err("deadline")))
        .field(Field::checkbox("accept_license", "Accept the license terms, if the update has some", f.ticked("accept_license")))
        .button(Button::new("Save approval"))
        .error(form.refusal.clone());
    page.push_control(approve);
    let (label, verb) = if u.declined { ("Stop declining this update", "undecline") } else { ("Decline this update", "decline") };
    let mut decline = Form::post("decline", format!("/updates/{}/decline", enc(&u.update_id)), &session.csrf())
        .field(Field::new("hidden", "verb", "", verb));
    decline.buttons.push(if u.declined { Button::new(label) } else { Button::new(label).danger() });
    if !u.declined {
        decline = decline.confirm("Decline this update? Its approvals are removed and clients stop seeing it.");
    }
    page.push_control(decline);

    page.push(Heading("Files".into()));
    let mut files = Table::new("files", &["Name", "Size", "SHA-1", "State"]).empty("This update has no files of its own.");
    for file in &detail.files {
        files.row(vec![
            Cell::text(&file.name),
            Cell::text(bytes(file.size)),
            Cell::text(&file.sha1),
            Cell::badge(&file.state, if file.state == "present" { Tone::Good } else if file.state == "failed" { Tone::Bad } else { Tone::Plain }),
        ]);
    }
    page.push(files);

    page.push(Heading("Supersedence and prerequisites".into()));
    let mut rel = Table::new("relations", &["Relation", "Update"]).empty("It supersedes no update and needs none first.");
    for s in &detail.superseded_updates {
        rel.row(vec![Cell::text("Supersedes"), Cell::link(s, format!("/updates/{}", enc(s)))]);
    }
    for group in &detail.prerequisites {
        rel.row(vec![Cell::text(if group.len() > 1 { "Needs one of" } else { "Needs" }), Cell::text(group.join(", "))]);
    }
    for group in &detail.bundled_updates {
        rel.row(vec![Cell::text("Bundles"), Cell::text(group.join(", "))]);
    }
    page.push(rel);

    page.push(Heading("Status on computers".into()));
    match report {
        Ok(r) => {
            page.push(Note(format!(
                "{} computers: {} installed, {} needed, {} failed, {} not applicable, {} with no status.",
                r.computers, r.installed, r.needed, r.failed, r.not_applicable, r.not_reported
            )));
            let mut t = Table::new("computer-status", &["Computer", "Status", "Reported"]).empty("No computer has reported on this update.");
            for row in &r.rows {
                let (label, tone) = state(&row.state);
                t.row(vec![
                    Cell::link(row.dns_name.clone().unwrap_or_else(|| row.computer_id.clone()), format!("/computers/{}", enc(&row.computer_id))),
                    Cell::badge(label, tone),
                    Cell::text(time(&row.last_event_time)),
                ]);
            }
            page.push(t);
            let here = u.update_id.clone();
            page.push(Pager::new(r.total, r.offset, r.limit, r.rows.len(), move |o| format!("/updates/{}?offset={o}", enc(&here))));
        }
        Err(r) => page.push(Note(format!("The status report is unavailable: {}", r.message))),
    }
    html(status, page.html())
}

async fn approve(State(cs): State<ConsoleState>, Path(id): Path<String>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut errors = Vec::new();
    if f.get("group").is_empty() {
        errors.push(("group", "Choose a computer group.".to_string()));
    }
    let act = match f.get("action") {
        "" => "install",
        a @ ("install" | "uninstall" | "not_approved") => a,
        _ => {
            errors.push(("action", "Choose an approval from the list.".into()));
            "install"
        }
    };
    let deadline = deadline(f.get("deadline")).unwrap_or_else(|e| {
        errors.push(("deadline", e));
        None
    });
    if act == "not_approved" && deadline.is_some() {
        errors.push(("deadline", "A deadline applies to approvals for install or removal only.".into()));
    }
    if !errors.is_empty() {
        let state = ApproveState { fields: f.clone(), errors, refusal: None };
        return render_update(&posted.session, &cs, &id, &Fields::default(), state, StatusCode::BAD_REQUEST).await;
    }
    let request = ApprovalRequest {
        update: id.clone(),
        group: f.get("group").to_string(),
        action: Some(act.to_string()),
        deadline,
        accept_license: f.ticked("accept_license"),
    };
    match posted.session.api(&cs).post::<ApprovalView>("/approvals", &request).await {
        Ok(a) => see_other(&format!("/updates/{}?notice=approved", enc(&a.update_id))),
        Err(r) => refused_change(&posted, &cs, &id, r).await,
    }
}

async fn refused_change(posted: &Posted, cs: &ConsoleState, id: &str, r: Refusal) -> Response {
    let state = ApproveState { fields: posted.fields.clone(), errors: Vec::new(), refusal: Some(format!("Nothing was changed: {}", r.message)) };
    render_update(&posted.session, cs, id, &Fields::default(), state, r.status).await
}

async fn decline(State(cs): State<ConsoleState>, Path(id): Path<String>, posted: Posted) -> Response {
    let verb = if posted.fields.get("verb") == "undecline" { "undecline" } else { "decline" };
    let path = format!("/updates/{}/{verb}", enc(&id));
    match posted.session.api(&cs).act(Method::POST, &path, None).await {
        Ok(()) => see_other(&format!("/updates/{}?notice={verb}d", enc(&id))),
        Err(r) => refused_change(&posted, &cs, &id, r).await,
    }
}
