//! The admin API's OpenAPI 3.1 document, served at [`DOCUMENT_PATH`]. Its paths come from the
//! handlers' `#[utoipa::path]` annotations as `admin.rs` registers them, so the document and the
//! router cannot drift apart; this file adds what is common to every operation: the bearer
//! scheme and the error format.

use axum::http::header;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use sluice_api::ApiError;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{OpenApi as _, PartialSchema as _, ToSchema as _};

use crate::AppState;

/// Where the document is served; outside `/api/v1` and without authentication, so tools can
/// read the contract before they hold a token.
pub const DOCUMENT_PATH: &str = "/api/openapi.json";

/// The name of the bearer-token scheme in the document.
const BEARER: &str = "bearer";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Sluice admin API",
        description = "Administration of a Sluice update server: updates, computer groups, \
approvals, declines, synchronization, downstream servers, audit, people. Every request but \
`GET /api/v1/health` and `POST /api/v1/login` needs `Authorization: Bearer <token>`; a \
reporter's token may only read (GET). Every error answers \
`{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` with a stable code."
    ),
    tags(
        (name = "updates", description = "The catalog: find, show, import and publish updates"),
        (name = "approvals", description = "Approvals per computer group, and declines"),
        (name = "computer groups", description = "Computer groups and the targeting mode"),
        (name = "computers", description = "Computers that report to this server"),
        (name = "reports", description = "Status of updates on computers"),
        (name = "synchronization", description = "Synchronization from the upstream server"),
        (name = "downstream servers", description = "Servers that synchronize from this one"),
        (name = "transfer", description = "Export and import for disconnected networks"),
        (name = "audit", description = "Who changed what, when and from where"),
        (name = "automatic approval", description = "Automatic approval rules and WSUS's automatic options"),
        (name = "staged rollouts", description = "Rollout plans of rings, and updates moving through them"),
        (name = "people", description = "Users, their roles and API tokens; console login"),
        (name = "maintenance", description = "Self-maintenance: cleanup runs, their schedule and history"),
        (name = "notifications", description = "E-mail notifications over SMTP"),
        (name = "server", description = "The server itself"),
    )
)]
struct Base;

/// The document for the collected `paths`: the base's info, tags and components, the bearer
/// scheme required by default, and the error format on every operation.
pub fn finish(paths: OpenApi) -> OpenApi {
    let mut doc = Base::openapi().merge_from(paths);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(BEARER, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    components.schemas.insert(ApiError::name().into_owned(), ApiError::schema());
    let mut nested = Vec::new();
    ApiError::schemas(&mut nested);
    components.schemas.extend(nested);
    doc.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            // Any status the operation does not list is an error in the one format.
            op.responses.responses.entry("default".into()).or_insert_with(error_response);
        }
    }
    doc
}

fn error_response() -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description("An error: its stable code and a message for people")
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name(ApiError::name()))).build(),
            )
            .build(),
    )
}

/// The route serving `doc`, serialised once.
pub fn route(doc: OpenApi) -> Router<AppState> {
    // Serialising a document built from our own annotations cannot fail; an empty body would
    // show up in the tests that read it.
    let body = Bytes::from(doc.to_pretty_json().unwrap_or_default());
    Router::new().route(
        DOCUMENT_PATH,
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}
