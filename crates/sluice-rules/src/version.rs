//! Four-part dotted versions (`BaseTypes:Version`), as rules, files, MSI products and OS
//! releases use them.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A version of up to four numeric parts; missing trailing parts are zero, so `6.00` equals
/// `6.0.0.0`. Ordered part by part, numerically — never as text, which would put `1.10`
/// before `1.9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    parts: [u32; 4],
}

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a version of one to four dotted numbers")]
pub struct VersionError {
    pub text: String,
}

impl Version {
    /// `0.0.0.0`.
    pub const ZERO: Version = Version { parts: [0; 4] };

    /// A version from its four parts.
    pub const fn new(major: u32, minor: u32, build: u32, revision: u32) -> Version {
        Version { parts: [major, minor, build, revision] }
    }

    /// The four parts, missing ones zero.
    pub const fn parts(&self) -> [u32; 4] {
        self.parts
    }

    /// Parses `a[.b[.c[.d]]]`, each part decimal digits (leading zeros allowed, as in real
    /// rules: `6.00.0.0`). Surrounding whitespace is ignored; anything else is refused.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let err = || VersionError { text: text.to_string() };
        let t = text.trim();
        if t.is_empty() {
            return Err(err());
        }
        let mut parts = [0u32; 4];
        for (n, piece) in t.split('.').enumerate() {
            if n == 4 || piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            parts[n] = piece.parse().map_err(|_| err())?;
        }
        Ok(Version { parts })
    }

    /// Compares only the first `n` parts (MSI compares three, `ComparisonFilter` fewer).
    pub fn cmp_prefix(&self, other: &Version, n: usize) -> Ordering {
        let n = n.min(4);
        self.parts[..n].cmp(&other.parts[..n])
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.parts;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}
