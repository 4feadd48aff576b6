//! CSRF tokens: every mutating form carries one, derived from the session's secret so that
//! a page of another site, which cannot read the HttpOnly session cookie, cannot forge it.
//! Nothing is stored: the server recomputes the token from the cookie it receives.

use sha2::{Digest, Sha256};

/// Domain separation: the token is never the session secret's plain SHA-256, which is what
/// the store keeps to authenticate it.
const LABEL: &[u8] = b"sluice console csrf v1\0";

/// The CSRF token of a session.
pub fn token_for(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update(session_secret.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `given` is the session's token, compared in constant time.
pub fn matches(session_secret: &str, given: &str) -> bool {
    same_secret(&token_for(session_secret), given)
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub fn same_secret(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_its_session_only() {
        let t = token_for("secret-a");
        assert_eq!(t.len(), 64);
        assert!(matches("secret-a", &t));
        assert!(!matches("secret-b", &t));
        assert!(!matches("secret-a", ""));
        assert!(!matches("secret-a", &t[..63]));
        // Not the digest the store authenticates sessions by.
        assert_ne!(t, hex::encode(Sha256::digest(b"secret-a")));
    }
}
