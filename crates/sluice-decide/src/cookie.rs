//! Client cookies and authorization cookies: authenticated encryption of what the server
//! needs to trust on the next call, and nothing a client can forge or alter.
//!
//! Both are XChaCha20-Poly1305 over a small versioned binary record with a purpose byte as
//! associated data, so an authorization cookie can never pass as a client cookie. The key and
//! the server id live in the database, so a restart invalidates nothing, while another server
//! (or a re-created database) makes clients see `ServerChanged` and remap their cache.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use time::OffsetDateTime;
use uuid::Uuid;

const VERSION: u8 = 1;
/// Client cookies carry the group-set digest since version 2; a version 1 cookie (sealed before
/// an upgrade) still opens, with the digest unknown (0).
const CLIENT_VERSION: u8 = 2;
const PURPOSE_CLIENT: &[u8] = b"sluice client cookie v1";
const PURPOSE_AUTH: &[u8] = b"sluice authorization cookie v1";
const NONCE_LEN: usize = 24;

/// How long a client cookie lives, as on WSUS.
pub const COOKIE_LIFETIME: time::Duration = time::Duration::hours(1);

/// How long an authorization cookie (SimpleAuth) may be exchanged for a client cookie.
/// [MS-WSUSSS] 2.2.4.7 has the server read an expiration out of CookieData; WSUS does not
/// publish its SimpleAuth value, so the client cookie's observed hour is used: WUA calls
/// GetCookie right after GetAuthorizationCookie and asks for a new one whenever GetCookie
/// answers InvalidAuthorizationCookie ([MS-WUSP] 3.1.5.4).
pub const AUTH_COOKIE_LIFETIME: time::Duration = time::Duration::hours(1);

/// Clock difference tolerated between this server's nodes when judging an issue time.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    /// Not ours, altered, truncated or garbage.
    #[error("the cookie is not valid")]
    Invalid,
    /// Sealed by another server (or a previous incarnation of this one).
    #[error("the cookie was issued by another server")]
    ServerChanged,
    #[error("the cookie has expired")]
    Expired,
}

/// What the server remembers about a client between calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCookie {
    pub computer_id: String,
    /// Target group names the client asked for (client-side targeting), as sent.
    pub requested_groups: Vec<String>,
    pub protocol_version: String,
    /// The configuration `LastChange` the client saw (unix milliseconds).
    pub config_last_change_ms: i64,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Highest deployment change time (unix ms) already sent to the client: drives
    /// `ChangedUpdates`.
    pub deployment_watermark_ms: i64,
    /// [`groups_digest`] of the computer groups the deployments sent so far were decided for
    /// (0: none yet). When the computer's groups change, the watermark no longer says what
    /// the client holds: an approval of its new group may be older than the watermark.
    pub groups_digest: u64,
}

/// A digest of a set of computer groups (any order), never 0. FNV-1a: stable across builds,
/// so front ends of different versions sharing a database agree on it.
pub fn groups_digest(groups: &[Uuid]) -> u64 {
    let mut sorted: Vec<&Uuid> = groups.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for g in sorted {
        for b in g.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h.max(1)
}

/// What GetAuthorizationCookie proved about a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCookie {
    pub computer_id: String,
    pub dns_name: String,
    pub requested_groups: Vec<String>,
    pub issued_at: OffsetDateTime,
}

/// The server's sealing key and identity.
#[derive(Clone)]
pub struct CookieKeys {
    cipher: XChaCha20Poly1305,
    server_id: Uuid,
    /// The key of this server's previous instance (its database was re-created while the data
    /// directory stayed): what it sealed still authenticates, and so can be told apart from
    /// forgeries and answered `ServerChanged`.
    previous_instance: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieKeys").field("server_id", &self.server_id).finish_non_exhaustive()
    }
}

/// The record inside every cookie Sluice seals: length-prefixed strings, little-endian integers.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn strings(&mut self, v: &[String]) {
        self.0.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for s in v {
            self.bytes(s.as_bytes());
        }
    }
}

/// Reads what [`Writer`] wrote; anything short or malformed is [`CookieError::Invalid`].
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CookieError> {
        if self.0.len() < n {
            return Err(CookieError::Invalid);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, CookieError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| CookieError::Invalid)?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, CookieError> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().map_err(|_| CookieError::Invalid)?))
    }
    pub(crate) fn uuid(&mut self) -> Result<Uuid, CookieError> {
        Uuid::from_slice(self.take(16)?).map_err(|_| CookieError::Invalid)
    }
    pub(crate) fn string(&mut self) -> Result<String, CookieError> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| CookieError::Invalid)
    }
    fn strings(&mut self) -> Result<Vec<String>, CookieError> {
        let n = self.u32()? as usize;
        if n > 64 {
            return Err(CookieError::Invalid);
        }
        (0..n).map(|_| self.string()).collect()
    }
}

/// Associated data of a [`CookieKeys::seal_for`] cookie: a prefix no built-in purpose has.
fn external_purpose(purpose: &str) -> Vec<u8> {
    let mut v = b"sluice external cookie v1:".to_vec();
    v.extend_from_slice(purpose.as_bytes());
    v
}

use crate::unix_ms as ms;

pub(crate) fn from_ms(v: i64) -> Result<OffsetDateTime, CookieError> {
    crate::from_unix_ms(v).ok_or(CookieError::Invalid)
}

impl CookieKeys {
    pub fn new(key: [u8; 32], server_id: Uuid) -> Self {
        CookieKeys { cipher: XChaCha20Poly1305::new(&key.into()), server_id, previous_instance: None }
    }

    /// Also recognises cookies sealed by this server's previous instance (`ServerChanged`).
    pub fn with_previous_instance(mut self, key: [u8; 32]) -> Self {
        self.previous_instance = Some(XChaCha20Poly1305::new(&key.into()));
        self
    }

    pub fn server_id(&self) -> Uuid {
        self.server_id
    }

    fn seal(&self, purpose: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let mut out = nonce_bytes.to_vec();
        // Encryption into a Vec only fails for plaintexts beyond 256 GiB.
        if let Ok(ct) = self.cipher.encrypt(&nonce, Payload { msg: plain, aad: purpose }) {
            out.extend_from_slice(&ct);
        }
        out
    }

    /// Opens what this server sealed. What authenticates under the previous instance's key is
    /// genuine but names a state this server no longer has (its revision ids are gone with
    /// the old database): `ServerChanged` ([MS-WUSP] 2.2.2.4: "the server's identity or state
    /// has changed"). Anything else is `Invalid`: it cannot be decrypted.
    fn open(&self, purpose: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CookieError> {
        if sealed.len() < NONCE_LEN + 16 || sealed.len() > 64 * 1024 {
            return Err(CookieError::Invalid);
        }
        let (n, ct) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::from(<[u8; NONCE_LEN]>::try_from(n).map_err(|_| CookieError::Invalid)?);
        match self.cipher.decrypt(&nonce, Payload { msg: ct, aad: purpose }) {
            Ok(plain) => Ok(plain),
            Err(_) => match &self.previous_instance {
                Some(old) if old.decrypt(&nonce, Payload { msg: ct, aad: purpose }).is_ok() => Err(CookieError::ServerChanged),
                _ => Err(CookieError::Invalid),
            },
        }
    }

    /// Seals a client cookie into `EncryptedData`.
    pub fn seal_client(&self, c: &ClientCookie) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(128));
        w.0.push(CLIENT_VERSION);
        self.client_record_v1(&mut w, c);
        w.i64(c.groups_digest as i64);
        self.seal(PURPOSE_CLIENT, &w.0)
    }

    /// The fields of a client cookie as version 1 wrote them (all but the group digest).
    fn client_record_v1(&self, w: &mut Writer, c: &ClientCookie) {
        w.0.extend_from_slice(self.server_id.as_bytes());
        w.bytes(c.computer_id.as_bytes());
        w.strings(&c.requested_groups);
        w.bytes(c.protocol_version.as_bytes());
        w.i64(c.config_last_change_ms);
        w.i64(ms(c.issued_at));
        w.i64(ms(c.expires_at));
        w.i64(c.deployment_watermark_ms);
    }

    /// Opens `EncryptedData`, checking integrity, origin and (against `now`) expiry.
    pub fn open_client(&self, sealed: &[u8], now: OffsetDateTime) -> Result<ClientCookie, CookieError> {
        let c = self.open_client_any_age(sealed)?;
        if c.expires_at <= now {
            return Err(CookieError::Expired);
        }
        Ok(c)
    }

    /// Opens `EncryptedData` checking integrity and origin but not expiry: GetCookie carries
    /// state over from the expired cookie a client renews (clients renew exactly because it
    /// expired), and that state is still ours and authentic.
    pub fn open_client_any_age(&self, sealed: &[u8]) -> Result<ClientCookie, CookieError> {
        // A cookie sealed under a key we no longer have cannot be told from garbage: Invalid,
        // which sends the client back to GetCookie, as WSUS does.
        let plain = self.open(PURPOSE_CLIENT, sealed)?;
        let mut r = Reader(&plain);
        let version = r.take(1)?[0];
        if version != VERSION && version != CLIENT_VERSION {
            return Err(CookieError::Invalid);
        }
        let server = r.uuid()?;
        if server != self.server_id {
            return Err(CookieError::ServerChanged);
        }
        let c = ClientCookie {
            computer_id: r.string()?,
            requested_groups: r.strings()?,
            protocol_version: r.string()?,
            config_last_change_ms: r.i64()?,
            issued_at: from_ms(r.i64()?)?,
            expires_at: from_ms(r.i64()?)?,
            deployment_watermark_ms: r.i64()?,
            groups_digest: if version == CLIENT_VERSION { r.i64()? as u64 } else { 0 },
        };
        Ok(c)
    }

    /// Seals `plain` for another kind of cookie (e.g. the server-to-server cookies of
    /// MS-WSUSSS), whose record format its owner defines. `purpose` separates kinds: a cookie
    /// sealed for one purpose never opens for another, nor as a client or authorization cookie.
    pub fn seal_for(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        self.seal(&external_purpose(purpose), plain)
    }

    /// Opens what [`seal_for`](Self::seal_for) sealed with the same purpose (integrity only:
    /// origin and expiry are in the owner's record).
    pub fn open_for(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, CookieError> {
        self.open(&external_purpose(purpose), sealed)
    }

    pub fn seal_auth(&self, a: &AuthCookie) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(128));
        w.0.push(VERSION);
        w.0.extend_from_slice(self.server_id.as_bytes());
        w.bytes(a.computer_id.as_bytes());
        w.bytes(a.dns_name.as_bytes());
        w.strings(&a.requested_groups);
        w.i64(ms(a.issued_at));
        self.seal(PURPOSE_AUTH, &w.0)
    }

    /// Opens an authorization cookie still within [`AUTH_COOKIE_LIFETIME`] of its issue at `now`.
    pub fn open_auth(&self, sealed: &[u8], now: OffsetDateTime) -> Result<AuthCookie, CookieError> {
        let a = self.open_auth_any_age(sealed)?;
        if a.issued_at > now + CLOCK_SKEW {
            return Err(CookieError::Invalid);
        }
        if a.issued_at + AUTH_COOKIE_LIFETIME <= now {
            return Err(CookieError::Expired);
        }
        Ok(a)
    }

    fn open_auth_any_age(&self, sealed: &[u8]) -> Result<AuthCookie, CookieError> {
        let plain = self.open(PURPOSE_AUTH, sealed)?;
        let mut r = Reader(&plain);
        if r.take(1)?[0] != VERSION {
            return Err(CookieError::Invalid);
        }
        let server = r.uuid()?;
        if server != self.server_id {
            return Err(CookieError::ServerChanged);
        }
        Ok(AuthCookie {
            computer_id: r.string()?,
            dns_name: r.string()?,
            requested_groups: r.strings()?,
            issued_at: from_ms(r.i64()?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> CookieKeys {
        CookieKeys::new([7; 32], Uuid::from_u128(42))
    }

    fn sample(now: OffsetDateTime) -> ClientCookie {
        ClientCookie {
            computer_id: "b2f1c3d4-0000-4000-8000-000000000001".into(),
            requested_groups: vec!["Ring 1".into()],
            protocol_version: "2.90".into(),
            config_last_change_ms: 1_700_000_000_000,
            issued_at: from_ms(ms(now)).unwrap(),
            expires_at: from_ms(ms(now + COOKIE_LIFETIME)).unwrap(),
            deployment_watermark_ms: 5,
            groups_digest: 9,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let now = OffsetDateTime::now_utc();
        let k = keys();
        let c = sample(now);
        let sealed = k.seal_client(&c);
        assert_eq!(k.open_client(&sealed, now).unwrap(), c);
        assert_eq!(k.open_client(&sealed, now + COOKIE_LIFETIME).unwrap_err(), CookieError::Expired);
        // Its state is still readable when the client renews it.
        assert_eq!(k.open_client_any_age(&sealed).unwrap(), c);
        let other_server = CookieKeys::new([7; 32], Uuid::from_u128(43));
        assert_eq!(other_server.open_client_any_age(&sealed).unwrap_err(), CookieError::ServerChanged);
        // Two seals of the same cookie differ (fresh nonce), both open.
        assert_ne!(k.seal_client(&c), sealed);
    }

    #[test]
    fn cookies_sealed_before_the_group_digest_still_open() {
        let now = OffsetDateTime::now_utc();
        let k = keys();
        let c = sample(now);
        // Version 1: the same record without the digest.
        let mut w = Writer(Vec::new());
        w.0.push(1);
        k.client_record_v1(&mut w, &c);
        let old = k.seal(PURPOSE_CLIENT, &w.0);
        assert_eq!(k.open_client(&old, now).unwrap(), ClientCookie { groups_digest: 0, ..c });
    }

    #[test]
    fn group_digests_ignore_order_and_tell_sets_apart() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(groups_digest(&[a, b]), groups_digest(&[b, a, b]));
        assert_ne!(groups_digest(&[a]), groups_digest(&[a, b]));
        assert_ne!(groups_digest(&[]), 0, "0 stays for 'not known'");
    }

    #[test]
    fn forged_altered_foreign_and_cross_purpose_cookies_are_refused() {
        let now = OffsetDateTime::now_utc();
        let k = keys();
        let sealed = k.seal_client(&sample(now));
        for i in [0, 10, 30, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(k.open_client(&bad, now).unwrap_err(), CookieError::Invalid, "byte {i} flipped");
        }
        assert_eq!(k.open_client(&sealed[..20], now).unwrap_err(), CookieError::Invalid);
        assert_eq!(k.open_client(&[], now).unwrap_err(), CookieError::Invalid);
        assert_eq!(k.open_client(&vec![0u8; 200], now).unwrap_err(), CookieError::Invalid);
        let other_key = CookieKeys::new([8; 32], Uuid::from_u128(42));
        assert_eq!(other_key.open_client(&sealed, now).unwrap_err(), CookieError::Invalid);
        let other_server = CookieKeys::new([7; 32], Uuid::from_u128(43));
        assert_eq!(other_server.open_client(&sealed, now).unwrap_err(), CookieError::ServerChanged);
        let auth = k.seal_auth(&AuthCookie {
            computer_id: "x".into(),
            dns_name: "pc".into(),
            requested_groups: vec![],
            issued_at: now,
        });
        assert_eq!(k.open_client(&auth, now).unwrap_err(), CookieError::Invalid, "an auth cookie is no client cookie");
        assert!(k.open_auth(&sealed, now).is_err());
        assert_eq!(k.open_auth(&auth, now).unwrap().dns_name, "pc");
    }

    #[test]
    fn item_4_authorization_cookies_expire() {
        let now = OffsetDateTime::now_utc();
        let k = keys();
        let auth = |issued_at| k.seal_auth(&AuthCookie { computer_id: "x".into(), dns_name: "pc".into(), requested_groups: vec![], issued_at });
        assert!(k.open_auth(&auth(now), now).is_ok());
        assert!(k.open_auth(&auth(now - AUTH_COOKIE_LIFETIME + time::Duration::minutes(1)), now).is_ok());
        assert_eq!(k.open_auth(&auth(now - AUTH_COOKIE_LIFETIME), now).unwrap_err(), CookieError::Expired);
        assert_eq!(k.open_auth(&auth(now - time::Duration::days(400)), now).unwrap_err(), CookieError::Expired);
        assert_eq!(k.open_auth(&auth(now + time::Duration::hours(2)), now).unwrap_err(), CookieError::Invalid, "issued in the future");
    }

    #[test]
    fn item_16_previous_instance_cookies_are_server_changed_foreign_ones_invalid() {
        let now = OffsetDateTime::now_utc();
        let old = CookieKeys::new([7; 32], Uuid::from_u128(42));
        let sealed = old.seal_client(&sample(now));
        let recreated = CookieKeys::new([9; 32], Uuid::from_u128(44)).with_previous_instance([7; 32]);
        assert_eq!(recreated.open_client(&sealed, now).unwrap_err(), CookieError::ServerChanged);
        assert_eq!(recreated.open_client_any_age(&sealed).unwrap_err(), CookieError::ServerChanged);
        let foreign = CookieKeys::new([5; 32], Uuid::from_u128(45)).seal_client(&sample(now));
        assert_eq!(recreated.open_client(&foreign, now).unwrap_err(), CookieError::Invalid);
        // Its own cookies still open.
        assert!(recreated.open_client(&recreated.seal_client(&sample(now)), now).is_ok());
    }

    #[test]
    fn external_cookies_are_kept_apart_by_purpose() {
        let now = OffsetDateTime::now_utc();
        let k = keys();
        let sealed = k.seal_for("wsusss session", b"record");
        assert_eq!(k.open_for("wsusss session", &sealed).unwrap(), b"record");
        assert_eq!(k.open_for("wsusss auth", &sealed).unwrap_err(), CookieError::Invalid);
        assert_eq!(k.open_client(&sealed, now).unwrap_err(), CookieError::Invalid);
        assert!(k.open_auth(&sealed, now).is_err());
        let client = k.seal_client(&sample(now));
        assert_eq!(k.open_for("wsusss session", &client).unwrap_err(), CookieError::Invalid);
        assert_eq!(CookieKeys::new([8; 32], Uuid::from_u128(42)).open_for("wsusss session", &sealed).unwrap_err(), CookieError::Invalid);
    }
}
