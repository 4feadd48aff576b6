//! Applicability rules of Microsoft updates: parser, machine model and three-valued
//! evaluator. Sans-I/O.
//!
//! Windows Update decides on the client whether an update is installed, installable or
//! superseded by evaluating rule expressions (`IsInstalled`, `IsInstallable`, `IsSuperseded`)
//! against the machine: registry values, file versions, OS version, MSI products, CBS
//! packages, WMI answers. A server never needs to evaluate them to serve clients, but it does
//! to explain status, to test catalogs against machine profiles, and to let an agent decide
//! what a machine needs. This crate does that without touching any real machine: the machine
//! is plain data ([`Machine`]).
//!
//! * [`parse_rule`] reads a rule as `sluice-metadata` keeps it (standalone, namespaced XML);
//!   [`parse_fragment_rule`] and [`parse_core_fragment`] read the MS-WUSP fragment form
//!   (`b.`/`m.`/`d.` pseudo-prefixes) clients and agents receive.
//! * [`Evaluator`] evaluates expressions to [`Truth`] — true, false or unknown with the
//!   reasons naming the expressions that could not be decided. Nothing undecidable is ever
//!   reported as false.
//! * [`Applicability`] and the [`Evaluator`] methods `is_installed`, `is_installable`,
//!   `is_superseded`, `applicability`, `prerequisites_met`, `bundle_applicability`,
//!   `evaluate_update` and `evaluate_catalog` implement WUA's update-level semantics.
//!
//! ```
//! use sluice_rules::{parse_fragment_rule, Evaluator, Machine, Truth};
//!
//! let rule = parse_fragment_rule(
//!     r#"<And><b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" /><b.WmiQuery WqlQuery="SELECT * FROM Win32_Battery" /></And>"#,
//! ).unwrap();
//! let machine: Machine = toml::from_str("[os]\nmajor = 10\nminor = 0\nbuild = 26100\n").unwrap();
//! let t = Evaluator::new(&machine).eval(&rule);
//! assert!(t.is_unknown()); // no WMI answer in the model
//! assert_eq!(t.reasons().unwrap().iter().next().unwrap().expression, "WmiQuery");
//! ```

mod eval;
mod expr;
mod machine;
mod parse;
mod time;
mod truth;
mod update;
mod version;

pub use eval::Evaluator;
pub use expr::*;
pub use machine::*;
pub use parse::{
    expr_from_element, expr_from_fragment_element, ns, parse_core_fragment, parse_fragment_rule, parse_rule,
    CoreFragment, Prerequisite, UpdateRules, MAX_RULE_BYTES,
};
pub use time::Timestamp;
pub use truth::{Reason, Reasons, Truth, MAX_REASONS};
pub use update::{bundle_from_children, with_prerequisites, Applicability, Evaluated, UpdateEntry, UpdateKind};
pub use version::{Version, VersionError};

/// Why rule text could not be read at all. Anything short of this (unknown elements, bad
/// attributes) still parses, into [`Expr::Unsupported`] or [`Expr::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule is not well-formed XML: {0}")]
    Xml(String),
    #[error("rule holds no expression")]
    Empty,
    #[error("rule holds {0} top-level expressions where exactly one is allowed")]
    Several(usize),
    #[error("rule text is {size} bytes, more than the {max} accepted")]
    TooLarge { size: usize, max: usize },
    #[error("core fragment: {0}")]
    Fragment(String),
}

pub(crate) fn parse_bool_text(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// `IsInstalled` of an update on a machine (missing rule: false).
pub fn is_installed(rules: &UpdateRules, machine: &Machine) -> Truth {
    Evaluator::new(machine).is_installed(rules)
}

/// `IsInstallable` of an update on a machine (missing rule: true).
pub fn is_installable(rules: &UpdateRules, machine: &Machine) -> Truth {
    Evaluator::new(machine).is_installable(rules)
}

/// `IsSuperseded` of an update on a machine (missing rule: false).
pub fn is_superseded(rules: &UpdateRules, machine: &Machine) -> Truth {
    Evaluator::new(machine).is_superseded(rules)
}

/// Applicability of an update on a machine from its own rules. For many updates against one
/// machine, build an [`Evaluator`] once instead.
pub fn applicability(rules: &UpdateRules, machine: &Machine) -> Applicability {
    Evaluator::new(machine).applicability(rules)
}
