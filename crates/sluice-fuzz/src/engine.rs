//! The fuzzing loop: mutate a corpus entry, run the target under `catch_unwind` with its time
//! and allocation measured, record what goes wrong.
//!
//! There is no coverage instrumentation on stable Rust, so the feedback is the target's own
//! account of what it did: every run returns a short *outcome class* (the request decoded, or
//! the kind of error), and an input that produces a class not seen before joins the corpus.
//! That steers the mutations past the first error a decoder raises towards the later checks.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::alloc;
use crate::mutate::{Rng, mutate};

/// One decoder under test.
pub struct Target {
    pub name: &'static str,
    /// Runs the decoder on one input; panics on a broken invariant. Returns the outcome class.
    pub run: fn(&[u8]) -> String,
    /// The real inputs the corpus starts from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens worth inserting (element names, namespaces, header syntax).
    pub dictionary: &'static [&'static [u8]],
    /// The largest input generated.
    pub max_len: usize,
}

/// How long to fuzz and what counts as a finding.
#[derive(Clone, Debug)]
pub struct Budget {
    pub seed: u64,
    /// Stop after this many executions (seeds included) …
    pub executions: u64,
    /// … or when this much time has passed, whichever comes first.
    pub time: Duration,
    /// One input taking longer than this is a finding (a hang, or work out of proportion).
    pub slow: Duration,
    /// One input making the decoder hold more than this many bytes at once is a finding.
    pub memory: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    Panic(String),
    Slow(Duration),
    Memory(usize),
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: FindingKind,
    pub input: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub executions: u64,
    pub corpus: usize,
    pub classes: usize,
    pub elapsed: Duration,
    /// Runs in which a panic happened and the decoder caught it (see [`CONTAINED`]).
    pub contained_panics: u64,
    pub findings: Vec<Finding>,
}

/// Largest corpus kept; past it new classes are still counted but not kept.
const MAX_CORPUS: usize = 4096;

/// Runs `target` once on `input` the way the loop does: `Err` is the finding, if any.
pub fn run_one(target: &Target, input: &[u8], budget: &Budget) -> Result<String, FindingKind> {
    quiet_panics();
    let baseline = alloc::live();
    alloc::reset_peak();
    let started = Instant::now();
    FUZZING.with(|f| f.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    FUZZING.with(|f| f.set(false));
    let took = started.elapsed();
    let peak = alloc::peak_since(baseline);
    match result {
        Err(_) => Err(FindingKind::Panic(LAST_PANIC.with(|p| p.take()).unwrap_or_default())),
        Ok(_) if peak > budget.memory => Err(FindingKind::Memory(peak)),
        Ok(_) if took > budget.slow => Err(FindingKind::Slow(took)),
        // A panic the decoder caught itself (the CAB reader contains its decompressor's) is
        // handled input, but worth counting: it is a bug in a dependency.
        Ok(class) => match LAST_PANIC.with(|p| p.take()) {
            Some(msg) => Ok(format!("{CONTAINED}{}", class_of("", &msg))),
            None => Ok(class),
        },
    }
}

/// The outcome class prefix of a run whose panic the decoder caught and turned into an error.
pub const CONTAINED: &str = "contained panic";

/// Fuzzes `target` within `budget`. `on_finding` sees each finding as it happens (the CLI
/// saves it at once, so a later crash of the whole process cannot lose it).
pub fn fuzz(target: &Target, budget: &Budget, on_finding: &mut dyn FnMut(&Finding)) -> Report {
    let started = Instant::now();
    let mut rng = Rng::new(budget.seed);
    let mut report = Report::default();
    let mut classes = HashSet::new();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut seen_findings = HashSet::new();
    let mut record = |report: &mut Report, kind: FindingKind, input: &[u8]| {
        // One finding per panic message (or per kind for time and memory), not thousands.
        let key = match &kind {
            FindingKind::Panic(msg) => format!("panic:{msg}"),
            FindingKind::Slow(_) => "slow".into(),
            FindingKind::Memory(_) => "memory".into(),
        };
        if seen_findings.insert(key) {
            let f = Finding { kind, input: input.to_vec() };
            on_finding(&f);
            report.findings.push(f);
        }
    };

    for seed in (target.seeds)() {
        report.executions += 1;
        match run_one(target, &seed, budget) {
            Ok(class) => {
                classes.insert(class);
            }
            Err(kind) => record(&mut report, kind, &seed),
        }
        corpus.push(seed);
    }
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }

    let mut input = Vec::new();
    while report.executions < budget.executions && started.elapsed() < budget.time {
        let parent = rng.below(corpus.len());
        let other = rng.below(corpus.len());
        input.clear();
        input.extend_from_slice(&corpus[parent]);
        mutate(&mut rng, &mut input, &corpus[other], target.dictionary, target.max_len);
        report.executions += 1;
        match run_one(target, &input, budget) {
            Ok(class) => {
                if class.starts_with(CONTAINED) {
                    report.contained_panics += 1;
                }
                if classes.insert(class) && corpus.len() < MAX_CORPUS {
                    corpus.push(input.clone());
                }
            }
            Err(kind) => record(&mut report, kind, &input),
        }
    }
    report.corpus = corpus.len();
    report.classes = classes.len();
    report.elapsed = started.elapsed();
    report
}

/// A short, stable name for an error: its message with numbers (any word holding a digit:
/// `17`, `0x1f`, `2^15`) and quoted text blanked, so "offset 17" and "offset 18" are one class
/// and a new *kind* of error is a new one.
pub fn class_of(prefix: &str, message: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
    out.push(':');
    let mut quoted = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars().take(200) {
        if c == '"' || c == '\'' || c == '`' {
            quoted = !quoted;
            word.clear();
            continue;
        }
        if quoted {
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// While a target runs, a panic is a finding to record, not a message for the terminal;
/// elsewhere (the test harness's own assertions) the usual hook still reports it.
fn quiet_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(|f| f.get()) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget { seed: 1, executions: 3000, time: Duration::from_secs(60), slow: Duration::from_secs(5), memory: 1 << 20 }
    }

    fn seeds() -> Vec<Vec<u8>> {
        vec![b"<a>1</a>".to_vec()]
    }

    #[test]
    fn a_panicking_decoder_is_found_once_with_its_input() {
        fn run(input: &[u8]) -> String {
            if input.windows(2).any(|w| w == b"<<") {
                panic!("two brackets");
            }
            "ok".into()
        }
        let t = Target { name: "t", run, seeds, dictionary: &[b"<"], max_len: 64 };
        let r = fuzz(&t, &budget(), &mut |_| {});
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert!(matches!(&r.findings[0].kind, FindingKind::Panic(m) if m.starts_with("two brackets")));
        assert!(r.findings[0].input.windows(2).any(|w| w == b"<<"));
    }

    #[test]
    fn a_runaway_allocation_is_a_finding() {
        fn run(input: &[u8]) -> String {
            let n = if input.contains(&b'9') { 8 << 20 } else { 16 };
            std::hint::black_box(vec![0u8; n]);
            "ok".into()
        }
        let t = Target { name: "t", run, seeds, dictionary: &[], max_len: 64 };
        let r = fuzz(&t, &budget(), &mut |_| {});
        assert!(r.findings.iter().any(|f| matches!(f.kind, FindingKind::Memory(n) if n >= 8 << 20)), "{:?}", r.findings);
    }

    #[test]
    fn error_classes_ignore_numbers_and_quoted_text() {
        assert_eq!(class_of("e", "bad byte 17 in \"abc\""), class_of("e", "bad byte 1234 in \"zz\""));
        assert_ne!(class_of("e", "bad byte 1"), class_of("e", "short header 1"));
        assert_eq!(class_of("e", "window: 0x0a"), class_of("e", "window: 0x1f"));
    }
}
