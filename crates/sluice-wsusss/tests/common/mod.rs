//! Shared test helpers: fixture access and structural comparison of XML documents.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sluice_wsusss::*;
use sluice_xml::Element;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsusss")
}

/// The real update documents of `tests/fixtures/wsus-rs/docs/`, as served by the same upstream.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn read_doc(update_id: &str, revision: i32) -> String {
    let p = docs_dir().join(format!("{update_id}-r{revision}.xml"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every captured exchange (`exchanges/000001`, `exchanges-client/000001`, …), sorted.
pub fn exchanges() -> Vec<String> {
    sluice_soap_core::testing::exchange_dirs(&fixtures(), &["exchanges", "exchanges-client"])
}

fn header(exchange: &str, file: &str, name: &str) -> Option<String> {
    let headers = String::from_utf8(read(&format!("{exchange}/{file}"))).expect("headers are text");
    sluice_soap_core::testing::header_value(&headers, name)
}

/// The `SOAPAction` header of a captured request (header names vary in case).
pub fn soap_action(exchange: &str) -> String {
    header(exchange, "request.headers", "soapaction").unwrap_or_else(|| panic!("{exchange}: no SOAPAction"))
}

/// The operation a captured exchange called, from its SOAPAction.
pub fn operation(exchange: &str) -> Operation {
    let action = soap_action(exchange);
    Operation::ALL
        .into_iter()
        .find(|op| op.accepts_soap_action(&action))
        .unwrap_or_else(|| panic!("{exchange}: unknown SOAPAction {action}"))
}

/// The HTTP status of a captured response.
pub fn status(exchange: &str) -> u16 {
    let headers = String::from_utf8(read(&format!("{exchange}/response.headers"))).expect("headers are text");
    let first = headers.lines().next().expect("status line");
    first.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code")
}

/// Spec-example files of [MS-WSUSSS] whose names contain `contains`.
pub fn spec_examples(contains: &str) -> Vec<String> {
    sluice_soap_core::testing::spec_example_files(&fixtures(), "ms-wsusss", contains)
}

/// The operation a spec-example file shows, from its name (`15-GetRollupConfiguration-request.xml`).
pub fn spec_operation(file: &str) -> Operation {
    let name = file.rsplit('/').next().unwrap_or_default();
    let op_name = name.split('-').nth(1).expect("NN-Operation-kind.xml");
    Operation::ALL.into_iter().find(|o| o.name() == op_name).unwrap_or_else(|| panic!("{file}: unknown operation"))
}

/// The four spec examples the spec prints defectively (see spec-examples/README.md).
pub const DEFECTIVE_SPEC_EXAMPLES: [&str; 4] = [
    "04-GetAuthorizationCookie-response.xml",
    "08-GetConfigData-response.xml",
    "12-GetUpdateData-response.xml",
    "14-GetDeployments-response.xml",
];

pub fn is_defective(file: &str) -> bool {
    DEFECTIVE_SPEC_EXAMPLES.iter().any(|d| file.ends_with(d))
}

// Not every test file that includes this module parses fixtures.
#[allow(unused_imports)]
pub use sluice_soap_core::testing::parse_fixture as parse;

/// The first element of the Body.
pub fn body_element(root: &Element) -> &Element {
    let body = root.elements().find(|e| e.local == "Body").expect("Body");
    body.elements().next().expect("body element")
}

// Not every test file that includes this module compares bytes.
#[allow(unused_imports)]
pub use sluice_soap_core::testing::{first_difference, same_structure};
