//! Evaluation of expressions against a [`Machine`].
//!
//! Registry, file and package lookups are case-insensitive, as on Windows, so the machine is
//! indexed once (lower-cased keys) when the [`Evaluator`] is built; evaluating a rule then
//! costs hash lookups only.
//!
//! This file holds the machine's indexes, the comparisons and the dispatch over the tree; the
//! lookups and the leaves are evaluated in [`lookup`] and [`leaf`].

mod leaf;
mod lookup;

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::expr::*;
use crate::machine::*;
use crate::time::Timestamp;
use crate::truth::Truth;
use crate::version::Version;

#[derive(Default)]
struct KeyNode<'m> {
    values: HashMap<String, &'m RegValue>,
    /// Lower-cased names of the direct subkeys, sorted so loops are deterministic.
    children: BTreeSet<String>,
}

#[derive(Default)]
struct RegIndex<'m> {
    keys: HashMap<String, KeyNode<'m>>,
}

fn hive_alias(seg: &str) -> &str {
    match seg {
        "hklm" => "hkey_local_machine",
        "hkcu" => "hkey_current_user",
        "hkcr" => "hkey_classes_root",
        "hku" => "hkey_users",
        "hkcc" => "hkey_current_config",
        s => s,
    }
}

/// Lower-cased key path segments; the root abbreviation expanded. Registry key names may
/// contain `/`, so only `\` separates.
fn key_segments(path: &str) -> Vec<String> {
    let mut segs: Vec<String> = path.split('\\').filter(|s| !s.is_empty()).map(str::to_lowercase).collect();
    if let Some(first) = segs.first_mut() {
        *first = hive_alias(first).to_string();
    }
    segs
}

impl<'m> RegIndex<'m> {
    fn build(reg: &'m Registry) -> RegIndex<'m> {
        let mut idx = RegIndex::default();
        for (path, values) in reg {
            let segs = key_segments(path);
            if segs.is_empty() {
                continue;
            }
            let node = idx.keys.entry(segs.join("\\")).or_default();
            for (name, v) in values {
                node.values.insert(name.to_lowercase(), v);
            }
            for i in (1..segs.len()).rev() {
                let parent = idx.keys.entry(segs[..i].join("\\")).or_default();
                if !parent.children.insert(segs[i].clone()) {
                    break;
                }
            }
        }
        idx
    }
}

/// Which registry index a lookup goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Native,
    Wow64,
}

/// The subkey a `RegKeyLoop` is visiting, bound to `HKEY_LOOP_TARGET`.
struct LoopTarget {
    view: View,
    path: String,
}

enum ValueRead<'m> {
    NoKey,
    NoValue,
    Value(&'m RegValue),
}

struct FileIndex<'m> {
    files: HashMap<String, &'m FileEntry>,
    dirs: HashSet<String>,
}

/// Normalises a file path for lookup: `/` to `\`, no `\\?\`, no empty, `.` or `..` segments,
/// lower case.
fn norm_path(p: &str) -> String {
    let p = p.replace('/', "\\");
    let p = p.strip_prefix("\\\\?\\").unwrap_or(&p);
    let mut out: Vec<String> = Vec::new();
    for seg in p.split('\\') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s.to_lowercase()),
        }
    }
    out.join("\\")
}

fn join_path(dir: &str, rel: &str) -> String {
    let d = dir.trim().trim_end_matches(['\\', '/']);
    let r = rel.trim().trim_start_matches(['\\', '/']);
    if r.is_empty() { d.to_string() } else { format!("{d}\\{r}") }
}

fn norm_guid(s: &str) -> String {
    s.trim().trim_start_matches('{').trim_end_matches('}').to_lowercase()
}

fn cmp_ord<T: Ord>(c: Comparison, actual: T, expected: T) -> bool {
    // The parser only lets scalar comparisons reach scalar expressions.
    c.holds(actual.cmp(&expected)).unwrap_or(false)
}

/// String tests are case-insensitive: registry data and WMI/device strings are compared the
/// way Windows compares names (`0409` vs `0409`, `8AA038E9-110C-465c-…`).
fn cmp_str(c: Comparison, actual: &str, expected: &str) -> bool {
    let a = actual.to_lowercase();
    let b = expected.to_lowercase();
    match c {
        Comparison::EqualTo => a == b,
        Comparison::Contains => a.contains(&b),
        Comparison::BeginsWith => a.starts_with(&b),
        Comparison::EndsWith => a.ends_with(&b),
        other => other.holds(a.cmp(&b)).unwrap_or(false),
    }
}

/// Does a rule's language (`de`, `pt-br`, `ro-ro`) match the machine's (`de-DE`, `pt-BR`)?
/// Windows Update languages are mostly bare language codes, so `de` covers every German
/// locale; Brazilian Portuguese and the Chinese variants are languages of their own there.
fn language_matches(rule: &str, machine: &str) -> bool {
    let r = rule.trim().to_lowercase().replace('_', "-");
    let m = machine.trim().to_lowercase().replace('_', "-");
    if r.is_empty() || m.is_empty() {
        return false;
    }
    if r == m {
        return true;
    }
    if m.starts_with(&format!("{r}-")) {
        if r.contains('-') {
            return true;
        }
        return !(r == "zh" || (r == "pt" && m.starts_with("pt-br")));
    }
    false
}

fn langs_equal(rule: &str, actual: &str) -> bool {
    match (rule.trim().parse::<u32>(), actual.trim().parse::<u32>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => rule.trim().eq_ignore_ascii_case(actual.trim()),
    }
}

fn versions_equal(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// Evaluates expressions against one machine. Build once per machine, evaluate any number of
/// rules.
pub struct Evaluator<'m> {
    machine: &'m Machine,
    native: Option<RegIndex<'m>>,
    wow64: Option<RegIndex<'m>>,
    files: Option<FileIndex<'m>>,
    cbs: Option<HashMap<String, &'m CbsPackage>>,
}

type Res<T> = Result<T, Truth>;

fn unk<T>(expression: &str, detail: impl Into<String>) -> Res<T> {
    Err(Truth::unknown(expression, detail))
}

fn cbs_key(identity: &str) -> String {
    CbsIdentity::parse(identity).map(|i| i.key()).unwrap_or_else(|| identity.trim().to_lowercase())
}

impl<'m> Evaluator<'m> {
    /// Indexes the machine (registry, files, CBS packages) for case-insensitive lookups.
    pub fn new(machine: &'m Machine) -> Evaluator<'m> {
        let files = machine.files.as_ref().map(|fs| {
            let mut idx = FileIndex { files: HashMap::new(), dirs: HashSet::new() };
            for f in fs {
                let p = norm_path(&f.path);
                let mut dir = p.as_str();
                while let Some(i) = dir.rfind('\\') {
                    dir = &dir[..i];
                    if !idx.dirs.insert(dir.to_string()) {
                        break;
                    }
                }
                idx.files.insert(p, f);
            }
            idx
        });
        let cbs = machine
            .cbs_packages
            .as_ref()
            .map(|ps| ps.iter().map(|p| (cbs_key(&p.identity), p)).collect());
        Evaluator {
            machine,
            native: machine.registry.as_ref().map(RegIndex::build),
            wow64: machine.registry_wow64.as_ref().map(RegIndex::build),
            files,
            cbs,
        }
    }

    /// The machine this evaluator answers for.
    pub fn machine(&self) -> &'m Machine {
        self.machine
    }

    /// Evaluates an expression that needs no update metadata.
    ///
    /// Evaluation recurses along the tree; trees from the parsers are at most
    /// [`sluice_xml::MAX_DEPTH`] deep.
    pub fn eval(&self, expr: &Expr) -> Truth {
        self.eval_with(expr, &HandlerMetadata::default())
    }

    /// Evaluates an expression of an update whose handler metadata is `meta`.
    pub fn eval_with(&self, expr: &Expr, meta: &HandlerMetadata) -> Truth {
        self.ev(expr, meta, None)
    }

    fn ev(&self, e: &Expr, meta: &HandlerMetadata, lt: Option<&LoopTarget>) -> Truth {
        match e {
            Expr::True => Truth::True,
            Expr::False => Truth::False,
            Expr::And(v) => Truth::all(v.iter().map(|x| self.ev(x, meta, lt))),
            Expr::Or(v) => Truth::any(v.iter().map(|x| self.ev(x, meta, lt))),
            Expr::Not(x) => !self.ev(x, meta, lt),
            Expr::RegKeyLoop { key, true_if, body } => self.reg_key_loop(key, *true_if, body, meta, lt),
            Expr::Leaf(l) => match self.leaf(l, meta, lt) {
                Ok(t) | Err(t) => t,
            },
            Expr::Malformed { name, reason } => Truth::unknown(name.as_str(), format!("malformed: {reason}")),
            Expr::Unsupported { namespace, name } => Truth::unknown(
                name.as_str(),
                if namespace.is_empty() {
                    "not an expression this engine knows".to_string()
                } else {
                    format!("not an expression this engine knows (namespace {namespace})")
                },
            ),
        }
    }
}

/// The 32-bit view of a 64-bit machine as Windows redirects it: `HKLM\SOFTWARE\X` →
/// `HKLM\SOFTWARE\WOW6432Node\X` (`SOFTWARE\Classes` is shared and not redirected).
fn wow64_redirect(path: &str) -> String {
    let segs: Vec<&str> = path.split('\\').collect();
    if segs.len() >= 2 && segs[0] == "hkey_local_machine" && segs[1] == "software" {
        if segs.get(2).is_some_and(|s| *s == "wow6432node" || *s == "classes") {
            return path.to_string();
        }
        let mut out = vec!["hkey_local_machine", "software", "wow6432node"];
        out.extend(&segs[2..]);
        return out.join("\\");
    }
    path.to_string()
}

#[cfg(test)]
mod tests;
