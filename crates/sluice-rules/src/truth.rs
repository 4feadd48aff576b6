//! Three-valued (Kleene) truth, the result of every evaluation.
//!
//! WUA itself treats an expression it cannot evaluate as undetermined rather than false; a
//! server that evaluates for reporting or testing must do the same, or it reports "not
//! installed" for machines it simply knows nothing about.

use std::collections::BTreeSet;
use std::fmt;

/// Upper bound on the reasons one [`Truth::Unknown`] carries. A rule with thousands of
/// undecidable leaves (CBS rules run to megabytes) would otherwise drag thousands of strings
/// through every `And`/`Or`. Keeping the smallest ones (set order) keeps merging commutative
/// and associative, which the property tests rely on.
pub const MAX_REASONS: usize = 64;

/// Why an expression could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reason {
    /// The expression that could not be evaluated, by its local name (`WmiQuery`,
    /// `RegDword`, `CbsPackageInstallable`, …).
    pub expression: String,
    /// What was missing or wrong, naming the key, file, query or attribute involved.
    pub detail: String,
}

impl Reason {
    /// A reason naming `expression`.
    pub fn new(expression: impl Into<String>, detail: impl Into<String>) -> Self {
        Reason { expression: expression.into(), detail: detail.into() }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.expression, self.detail)
    }
}

/// A deduplicated, ordered set of reasons (at most [`MAX_REASONS`]).
pub type Reasons = BTreeSet<Reason>;

/// The value of an expression: true, false, or unknown with the reasons why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown(Reasons),
}

pub(crate) fn merge_reasons(into: &mut Reasons, from: Reasons) {
    into.extend(from);
    while into.len() > MAX_REASONS {
        into.pop_last();
    }
}

impl Truth {
    /// `True` or `False`.
    pub fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    /// Unknown because of one expression.
    pub fn unknown(expression: impl Into<String>, detail: impl Into<String>) -> Truth {
        let mut r = Reasons::new();
        r.insert(Reason::new(expression, detail));
        Truth::Unknown(r)
    }

    /// Decided true.
    pub fn is_true(&self) -> bool {
        matches!(self, Truth::True)
    }

    /// Decided false.
    pub fn is_false(&self) -> bool {
        matches!(self, Truth::False)
    }

    /// Undecided.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Truth::Unknown(_))
    }

    /// `Some(bool)` when decided.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Truth::True => Some(true),
            Truth::False => Some(false),
            Truth::Unknown(_) => None,
        }
    }

    /// The reasons, when unknown.
    pub fn reasons(&self) -> Option<&Reasons> {
        match self {
            Truth::Unknown(r) => Some(r),
            _ => None,
        }
    }

    /// Kleene conjunction: false wins over unknown, unknown over true.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, x) | (x, Truth::True) => x,
            (Truth::Unknown(mut a), Truth::Unknown(b)) => {
                merge_reasons(&mut a, b);
                Truth::Unknown(a)
            }
        }
    }

    /// Kleene disjunction: true wins over unknown, unknown over false.
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, x) | (x, Truth::False) => x,
            (Truth::Unknown(mut a), Truth::Unknown(b)) => {
                merge_reasons(&mut a, b);
                Truth::Unknown(a)
            }
        }
    }

    /// Conjunction of any number of values; true when empty. Stops at the first false.
    pub fn all(values: impl IntoIterator<Item = Truth>) -> Truth {
        let mut acc = Truth::True;
        for v in values {
            acc = acc.and(v);
            if acc.is_false() {
                break;
            }
        }
        acc
    }

    /// Disjunction of any number of values; false when empty. Stops at the first true.
    pub fn any(values: impl IntoIterator<Item = Truth>) -> Truth {
        let mut acc = Truth::False;
        for v in values {
            acc = acc.or(v);
            if acc.is_true() {
                break;
            }
        }
        acc
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            u @ Truth::Unknown(_) => u,
        }
    }
}

impl From<bool> for Truth {
    fn from(b: bool) -> Truth {
        Truth::from_bool(b)
    }
}

impl fmt::Display for Truth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Truth::True => f.write_str("true"),
            Truth::False => f.write_str("false"),
            Truth::Unknown(r) => {
                f.write_str("unknown (")?;
                for (i, reason) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{reason}")?;
                }
                f.write_str(")")
            }
        }
    }
}
