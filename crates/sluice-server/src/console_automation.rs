//! Options › Automatic Approvals (rules, WSUS's two automatic options) and Options › Staged
//! Rollouts (plans of rings, the rollouts on them).

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{AutoApprovalSettings, CategoryView, CreatePlanRequest, CreateRuleRequest, PlanView, RingSpec, RolloutView, RuleDeadline, RuleView};
use sluice_console::format::time;
use sluice_console::{Button, Cell, Choice, Field, Form, Heading, Section, Table, Tone};

use crate::console::{failed, html, see_other, ConsoleState, Posted, Session};
use crate::console_api::{enc, Fields, Submitted};
use crate::console_computers::group_names;

pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/options/automatic-approvals", get(rules).post(create_rule))
        .route("/options/automatic-approvals/change", post(change_rule))
        .route("/options/automatic-approvals/settings", post(save_settings))
        .route("/options/rollouts", get(rollouts).post(create_plan))
        .route("/options/rollouts/act", post(act_on_rollout))
}

fn names(refs: &[sluice_api::NamedRef]) -> String {
    if refs.is_empty() { "Any".into() } else { refs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ") }
}

fn category_choices(all: &[CategoryView], chosen: &[String]) -> Vec<Choice> {
    let mut named: Vec<&CategoryView> = all.iter().filter(|c| c.name.is_some()).collect();
    named.sort_by(|a, b| a.name.cmp(&b.name));
    named
        .into_iter()
        .map(|c| {
            let name = c.name.clone().unwrap_or_default();
            let on = chosen.iter().any(|x| x == &c.id || x.eq_ignore_ascii_case(&name));
            Choice::new(c.id.clone(), name, on)
        })
        .collect()
}

async fn rules(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_rules(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render_rules(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let api = session.api(cs);
    let (list, settings) = match (api.get::<Vec<RuleView>>("/approval-rules").await, api.get::<AutoApprovalSettings>("/settings/auto-approval").await) {
        (Ok(l), Ok(s)) => (l, s),
        (Err(r), _) | (_, Err(r)) => return failed(session, cs, "Automatic Approvals", Section::Options, r),
    };
    let classifications = api.get::<Vec<CategoryView>>("/classifications").await.unwrap_or_default();
    let products = api.get::<Vec<CategoryView>>("/products").await.unwrap_or_default();
    let groups = group_names(session, cs).await;
    let mut page = session.page(cs, "Automatic Approvals", Section::Options, Some(notice)).trail("Options", "/options");
    let mut t = Table::new("rules", &["Rule", "Enabled", "Classifications", "Products", "Approves for", "Deadline", "Owner"])
        .empty("No automatic approval rule yet.");
    for r in &list {
        let target = match &r.plan {
            Some(p) => format!("rollout plan {}", p.name),
            None => names(&r.groups),
        };
        t.row(vec![
            Cell::text(&r.name),
            if r.enabled { Cell::badge("Enabled", Tone::Good) } else { Cell::badge("Disabled", Tone::Plain) },
            Cell::text(names(&r.classifications)),
            Cell::text(names(&r.products)),
            Cell::text(target),
            Cell::text(r.deadline.as_ref().map(|d| format!("{} days after approval, {} UTC", d.days, d.time)).unwrap_or_else(|| "None".into())),
            Cell::text(&r.owner),
        ]);
    }
    page.push(t);
    let f = "new-rule";
    let chosen = |name: &str| if sent.form == f { sent.fields.all(name) } else { Vec::new() };
    let group_pick: Vec<Choice> = groups.iter().filter(|g| *g != "Unassigned Computers").map(|g| Choice::new(g.clone(), g.clone(), chosen("groups").contains(g))).collect();
    page.push_control(
        Form::post(f, "/options/automatic-approvals", &session.csrf())
            .title("New rule")
            .field(Field::new("text", "name", "Name", sent.value(f, "name", "")).required().error(sent.err(f, "name")))
            .field(Field::multi("classifications", "When an update is in classification", category_choices(&classifications, &chosen("classifications"))).help("None chosen: any classification."))
            .field(Field::multi("products", "and in product", category_choices(&products, &chosen("products"))).help("None chosen: any product."))
            .field(Field::multi("groups", "Approve it for", group_pick).error(sent.err(f, "groups")))
            .field(Field::new("number", "deadline_days", "Deadline: days after approval (optional)", sent.value(f, "deadline_days", "")).error(sent.err(f, "deadline_days")))
            .field(Field::new("time", "deadline_time", "at (UTC)", sent.value(f, "deadline_time", "03:00")).error(sent.err(f, "deadline_time")))
            .button(Button::new("Create rule"))
            .error(sent.refusal(f)),
    );
    if !list.is_empty() {
        let rule_pick: Vec<Choice> = list.iter().map(|r| Choice::new(r.id.to_string(), r.name.clone(), false)).collect();
        page.push_control(
            Form::post("change-rule", "/options/automatic-approvals/change", &session.csrf())
                .title("Change a rule")
                .field(Field::select("rule", "Rule", rule_pick))
                .button(Button::named("Run on updates already synchronized", "do", "run"))
                .button(Button::named("Enable", "do", "enable"))
                .button(Button::named("Disable", "do", "disable"))
                .button(Button::named("Delete", "do", "delete").danger())
                .error(sent.refusal("change-rule")),
        );
    }
    let s = "auto-settings";
    let form = Form::post(s, "/options/automatic-approvals/settings", &session.csrf())
        .title("Advanced")
        .field(Field::checkbox("approve_new_revisions", "Approve new revisions of updates that are already approved", settings.approve_new_revisions))
        .field(Field::checkbox("decline_expired", "Decline updates when a new revision makes them expire", settings.decline_expired))
        .button(Button::new("Save"))
        .error(sent.refusal(s));
    page.push_control(form);
    html(status, page.html())
}

async fn create_rule(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("new-rule", f);
    if f.get("name").is_empty() {
        sent.add("name", "Enter a name.");
    }
    let groups = f.all("groups");
    if groups.is_empty() {
        sent.add("groups", "Choose at least one computer group.");
    }
    let deadline = match f.number::<u32>("deadline_days") {
        Ok(None) => None,
        Ok(Some(days)) => Some(RuleDeadline { days, time: f.get("deadline_time").to_string() }),
        Err(_) => {
            sent.add("deadline_days", "A whole number of days, or empty for no deadline.");
            None
        }
    };
    if sent.failed() {
        return render_rules(&posted.session, &cs, "", sent, StatusCode::BAD_REQUEST).await;
    }
    let request = CreateRuleRequest {
        name: f.get("name").to_string(),
        enabled: None,
        classifications: f.all("classifications"),
        products: f.all("products"),
        groups,
        plan: None,
        deadline,
    };
    match posted.session.api(&cs).post::<RuleView>("/approval-rules", &request).await {
        Ok(_) => see_other("/options/automatic-approvals?notice=rule-created"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_rules(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn change_rule(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let path = format!("/approval-rules/{}", enc(f.get("rule")));
    let api = posted.session.api(&cs);
    let (done, notice) = match f.get("do") {
        "run" => (api.act(Method::POST, &format!("{path}/run"), Some(&serde_json::json!({}))).await, "rule-run"),
        "enable" => (api.act(Method::PATCH, &path, Some(&serde_json::json!({"enabled": true}))).await, "saved"),
        "disable" => (api.act(Method::PATCH, &path, Some(&serde_json::json!({"enabled": false}))).await, "saved"),
        "delete" => (api.act(Method::DELETE, &path, None).await, "rule-deleted"),
        _ => return crate::console::refused(&posted.session, &cs, StatusCode::BAD_REQUEST, "Unknown action. Nothing was changed."),
    };
    match done {
        Ok(()) => see_other(&format!("/options/automatic-approvals?notice={notice}")),
        Err(r) => {
            let mut sent = Submitted::of("change-rule", f);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_rules(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn save_settings(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let s = AutoApprovalSettings { approve_new_revisions: posted.fields.ticked("approve_new_revisions"), decline_expired: posted.fields.ticked("decline_expired") };
    match posted.session.api(&cs).send::<AutoApprovalSettings>(Method::PUT, "/settings/auto-approval", &s).await {
        Ok(_) => see_other("/options/automatic-approvals?notice=saved"),
        Err(r) => {
            let mut sent = Submitted::of("auto-settings", &posted.fields);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_rules(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn rollouts(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    render_rollouts(&session, &cs, Fields(q).get("notice"), Submitted::default(), StatusCode::OK).await
}

async fn render_rollouts(session: &Session, cs: &ConsoleState, notice: &str, sent: Submitted, status: StatusCode) -> Response {
    let api = session.api(cs);
    let (plans, running) = match (api.get::<Vec<PlanView>>("/rollout-plans").await, api.get::<Vec<RolloutView>>("/rollouts").await) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(r), _) | (_, Err(r)) => return failed(session, cs, "Staged Rollouts", Section::Options, r),
    };
    let mut page = session.page(cs, "Staged Rollouts", Section::Options, Some(notice)).trail("Options", "/options");
    page.push(Heading("Rollout plans".into()));
    let mut t = Table::new("plans", &["Plan", "Rings (group, soak time)", "Largest failure rate", "Created by"]).empty("No rollout plan yet.");
    for p in &plans {
        let rings = p.rings.iter().map(|r| format!("{} ({})", r.group, r.soak)).collect::<Vec<_>>().join(" → ");
        t.row(vec![Cell::text(&p.name), Cell::text(rings), Cell::text(&p.max_failure), Cell::text(&p.created_by)]);
    }
    page.push(t);
    let f = "new-plan";
    page.push_control(
        Form::post(f, "/options/rollouts", &session.csrf())
            .title("New rollout plan")
            .field(Field::new("text", "name", "Name", sent.value(f, "name", "")).required().error(sent.err(f, "name")))
            .field(Field::new("textarea", "rings", "Rings, one per line: computer group, soak time", sent.value(f, "rings", "")).help("For example: Pilot, 2d").error(sent.err(f, "rings")))
            .field(Field::new("text", "max_failure", "Largest failure rate a ring may show", sent.value(f, "max_failure", "5%")).error(sent.err(f, "max_failure")))
            .button(Button::new("Create plan"))
            .error(sent.refusal(f)),
    );
    page.push(Heading("Rollouts".into()));
    let mut t = Table::new("rollouts", &["Id", "Update", "Plan", "Ring", "State", "Installed", "Failed", "Soak until", "Why"]).empty("No update is being rolled out.");
    for r in &running {
        let tone = match r.state.as_str() {
            "completed" => Tone::Good,
            "halted" | "aborted" => Tone::Bad,
            _ => Tone::Warn,
        };
        t.row(vec![
            Cell::text(r.id.to_string()),
            Cell::link(&r.title, format!("/updates/{}", enc(&r.update_id))),
            Cell::text(&r.plan),
            Cell::text(format!("{} of {} ({})", r.ring, r.rings, r.ring_group)),
            Cell::badge(&r.state, tone),
            Cell::text(r.installed.to_string()),
            Cell::text(r.failed.to_string()),
            Cell::text(time(&r.soak_until)),
            Cell::text(r.reason.clone().unwrap_or_default()),
        ]);
    }
    page.push(t);
    let active: Vec<Choice> = running.iter().filter(|r| r.state == "running" || r.state == "halted").map(|r| Choice::new(r.id.to_string(), format!("{} — {}", r.id, r.title), false)).collect();
    if !active.is_empty() {
        page.push_control(
            Form::post("act", "/options/rollouts/act", &session.csrf())
                .title("Act on a rollout")
                .field(Field::select("rollout", "Rollout", active))
                .button(Button::named("Resume", "do", "resume"))
                .button(Button::named("Skip to the next ring", "do", "skip"))
                .button(Button::named("Abort", "do", "abort").danger())
                .error(sent.refusal("act")),
        );
    }
    html(status, page.html())
}

async fn create_plan(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let mut sent = Submitted::of("new-plan", f);
    if f.get("name").is_empty() {
        sent.add("name", "Enter a name.");
    }
    let raw = posted.fields.0.iter().find(|(k, _)| k == "rings").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut rings = Vec::new();
    for (i, line) in raw.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        match line.rsplit_once(',') {
            Some((group, soak)) if !group.trim().is_empty() && !soak.trim().is_empty() => {
                rings.push(RingSpec { group: group.trim().to_string(), soak: soak.trim().to_string() })
            }
            _ => {
                sent.add("rings", format!("Line {}: write the group, a comma, then the soak time (e.g. Pilot, 2d).", i + 1));
                break;
            }
        }
    }
    if rings.is_empty() && !sent.errors.iter().any(|(n, _)| *n == "rings") {
        sent.add("rings", "Give at least one ring.");
    }
    if sent.failed() {
        return render_rollouts(&posted.session, &cs, "", sent, StatusCode::BAD_REQUEST).await;
    }
    let request = CreatePlanRequest { name: f.get("name").to_string(), rings, max_failure: f.get("max_failure").to_string() };
    match posted.session.api(&cs).post::<PlanView>("/rollout-plans", &request).await {
        Ok(_) => see_other("/options/rollouts?notice=plan-created"),
        Err(r) => {
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_rollouts(&posted.session, &cs, "", sent, r.status).await
        }
    }
}

async fn act_on_rollout(State(cs): State<ConsoleState>, posted: Posted) -> Response {
    let f = &posted.fields;
    let verb = match f.get("do") {
        v @ ("resume" | "skip" | "abort") => v,
        _ => return crate::console::refused(&posted.session, &cs, StatusCode::BAD_REQUEST, "Unknown action. Nothing was changed."),
    };
    let path = format!("/rollouts/{}/{verb}", enc(f.get("rollout")));
    match posted.session.api(&cs).act(Method::POST, &path, Some(&serde_json::json!({}))).await {
        Ok(()) => see_other("/options/rollouts?notice=saved"),
        Err(r) => {
            let mut sent = Submitted::of("act", f);
            sent.refusal = Some(format!("Nothing was changed: {}", r.message));
            render_rollouts(&posted.session, &cs, "", sent, r.status).await
        }
    }
}
