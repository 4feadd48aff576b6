//! The cookies this server issues to downstream servers (MS-WSUSSS): the DSS authorization
//! cookie and the Server Sync session cookie. Each is a small versioned binary record naming
//! this server, the downstream's id and the issue time (the session cookie also its expiry,
//! 240 minutes as real WSUS, and the protocol version), sealed with the client-cookie key
//! under a purpose of its own ([`CookieKeys::seal_for`]). Another server's cookie, a tampered
//! or truncated one → invalid; an expired one → expired.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::cookie::{CookieError, CookieKeys};

/// Lifetime of a session cookie, as real WSUS.
pub const SESSION_LIFETIME: time::Duration = time::Duration::minutes(240);

const PURPOSE_AUTH: &str = "wsusss dss authorization cookie";
const PURPOSE_SESSION: &str = "wsusss session cookie";
const RECORD_VERSION: u8 = 1;

/// What the session cookie proves about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub dss_id: Uuid,
    pub protocol_version: String,
    pub expires_at: OffsetDateTime,
}

use crate::cookie::{Reader, Writer};
use crate::unix_ms;

/// Seals the authorization cookie of downstream `dss_id` (account `name`) issued at `at`.
pub fn seal_auth(keys: &CookieKeys, dss_id: Uuid, name: &str, at: OffsetDateTime) -> Vec<u8> {
    let mut w = Writer(vec![RECORD_VERSION]);
    w.0.extend_from_slice(keys.server_id().as_bytes());
    w.0.extend_from_slice(dss_id.as_bytes());
    w.i64(unix_ms(at));
    w.bytes(name.as_bytes());
    keys.seal_for(PURPOSE_AUTH, &w.0)
}

/// The downstream an authorization cookie sealed here names; `None` for anything else.
pub fn open_auth(keys: &CookieKeys, sealed: &[u8]) -> Option<Uuid> {
    let plain = keys.open_for(PURPOSE_AUTH, sealed).ok()?;
    let mut r = Reader(&plain);
    if r.take(1).ok()? != [RECORD_VERSION] || r.uuid().ok()? != keys.server_id() {
        return None;
    }
    let dss = r.uuid().ok()?;
    r.i64().ok()?;
    r.string().ok()?;
    Some(dss)
}

/// Seals a session cookie issued at `issued`.
pub fn seal_session(keys: &CookieKeys, s: &Session, issued: OffsetDateTime) -> Vec<u8> {
    let mut w = Writer(vec![RECORD_VERSION]);
    w.0.extend_from_slice(keys.server_id().as_bytes());
    w.0.extend_from_slice(s.dss_id.as_bytes());
    w.i64(unix_ms(issued));
    w.i64(unix_ms(s.expires_at));
    w.bytes(s.protocol_version.as_bytes());
    keys.seal_for(PURPOSE_SESSION, &w.0)
}

/// Opens a session cookie at `now`: `Invalid` for anything not sealed by this server as a
/// session cookie (a previous instance's included), `ServerChanged` for a record naming
/// another server id, `Expired` past its expiry.
pub fn open_session(keys: &CookieKeys, sealed: &[u8], now: OffsetDateTime) -> Result<Session, CookieError> {
    let plain = keys.open_for(PURPOSE_SESSION, sealed).map_err(|e| match e {
        CookieError::Expired => CookieError::Expired,
        _ => CookieError::Invalid,
    })?;
    read_session(&plain, keys.server_id(), now)
}

fn read_session(plain: &[u8], server_id: Uuid, now: OffsetDateTime) -> Result<Session, CookieError> {
    let mut r = Reader(plain);
    if r.take(1)? != [RECORD_VERSION] {
        return Err(CookieError::Invalid);
    }
    if r.uuid()? != server_id {
        return Err(CookieError::ServerChanged);
    }
    let dss_id = r.uuid()?;
    let _issued = r.i64()?;
    let expires_at = crate::cookie::from_ms(r.i64()?)?;
    let protocol_version = r.string()?;
    if expires_at <= now {
        return Err(CookieError::Expired);
    }
    Ok(Session { dss_id, protocol_version, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> CookieKeys {
        CookieKeys::new([3; 32], Uuid::from_u128(7))
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn sessions_round_trip_expire_and_stay_with_their_server_and_purpose() {
        let k = keys();
        let s = Session { dss_id: Uuid::from_u128(9), protocol_version: "1.20".into(), expires_at: now() + SESSION_LIFETIME };
        let sealed = seal_session(&k, &s, now());
        assert_eq!(open_session(&k, &sealed, now()), Ok(s.clone()));
        assert_eq!(open_session(&k, &sealed, now() + SESSION_LIFETIME), Err(CookieError::Expired));
        assert_eq!(open_session(&CookieKeys::new([4; 32], Uuid::from_u128(7)), &sealed, now()), Err(CookieError::Invalid));
        // Same key, another server id (a copied key): the record names this one.
        assert_eq!(open_session(&CookieKeys::new([3; 32], Uuid::from_u128(8)), &sealed, now()), Err(CookieError::ServerChanged));
        let auth = seal_auth(&k, s.dss_id, "dss.contoso.local", now());
        assert_eq!(open_auth(&k, &auth), Some(s.dss_id));
        assert_eq!(open_session(&k, &auth, now()), Err(CookieError::Invalid), "an authorization cookie is no session");
        assert_eq!(open_auth(&k, &sealed), None, "a session cookie is no authorization cookie");
    }

    /// Fuzz-style: whatever the bytes, opening a session cookie or reading a session record
    /// answers an error and never panics, sealed under the right key and purpose or not.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let k = keys();
        // xorshift: deterministic, so a failure reproduces.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let valid = {
            let mut r = vec![RECORD_VERSION];
            r.extend_from_slice(k.server_id().as_bytes());
            r
        };
        for round in 0..4_000 {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                // Half of them start like a real record, so the reader gets past the header.
                bytes.splice(0..0, valid.iter().copied());
            }
            let _ = open_session(&k, &bytes, now());
            let _ = open_auth(&k, &bytes);
            let _ = read_session(&bytes, k.server_id(), now());
            let sealed = k.seal_for(PURPOSE_SESSION, &bytes);
            assert!(open_session(&k, &sealed, now()).is_err() || bytes.len() >= 1 + 16 + 16 + 8 + 8 + 4);
            let sealed = k.seal_for(PURPOSE_AUTH, &bytes);
            let _ = open_auth(&k, &sealed);
        }
    }
}
