//! Where the URLs this server hands out point (FileLocation and content URLs, downstream
//! servers' file URLs, fault actors): `scheme://host[:port]` with nothing after it.
//!
//! In order: the configured public URL (`--public-url`), which wins outright; then, only when
//! the connection comes from a configured trusted proxy, `X-Forwarded-Proto` and
//! `X-Forwarded-Host`; then the request's own scheme (the listener it came in on) and `Host`;
//! then the listener's own address. Anyone else's `X-Forwarded-*` is ignored, or a client could
//! point other clients' downloads elsewhere through a shared cache.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};

use crate::soap_edge::plausible_host;

/// Which listener a request came in on; the accept loop puts it on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The connection is HTTPS.
    pub tls: bool,
    /// The listener's bound address, for URLs when a request names no host.
    pub local: SocketAddr,
}

impl Arrival {
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// An address or network (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`) whose connections may say,
/// in `X-Forwarded-*`, how the client reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or network (10.0.0.5, 10.0.0.0/8, fd00::/8)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(ProxyNet { net, prefix })
    }
}

impl<'de> serde::Deserialize<'de> for ProxyNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl ProxyNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // A v4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A public URL as configured: `http(s)://host[:port]`, a trailing `/` allowed, nothing else
/// (the content paths are appended to it). Gives it back without the slash.
pub fn parse_public_url(url: &str) -> Result<String, String> {
    let bad = |why: &str| format!("public-url {url:?}: {why} (expected e.g. https://wsus.contoso.com:8531)");
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(bad("the scheme must be http or https"));
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if plausible_host(Some(host)).is_none() {
        return Err(bad("a host name or address with an optional port, and no path, is needed"));
    }
    Ok(format!("{}://{host}", scheme.to_ascii_lowercase()))
}

/// How this server names itself in the URLs it hands out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `scheme://host[:port]`, already checked ([`parse_public_url`]).
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<ProxyNet>,
}

impl UrlPolicy {
    /// `scheme://host[:port]` for URLs in the answer to `req`; `fallback` is the address named
    /// when neither the request nor its listener says (a request handed to the router in
    /// process, without a Host).
    pub fn base<B>(&self, req: &Request<B>, fallback: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let arrival = req.extensions().get::<Arrival>().copied().unwrap_or(Arrival { tls: false, local: fallback });
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        self.base_from(req.headers(), arrival, peer)
    }

    fn base_from(&self, headers: &HeaderMap, arrival: Arrival, peer: Option<IpAddr>) -> String {
        let mut scheme = arrival.scheme();
        let mut host = plausible_host(header(headers, "host"));
        if peer.is_some_and(|ip| self.trusted_proxies.iter().any(|p| p.contains(ip))) {
            // A chain of proxies lists the client-facing one first.
            match first(header(headers, "x-forwarded-proto")).map(str::to_ascii_lowercase).as_deref() {
                Some("https") => scheme = "https",
                Some("http") => scheme = "http",
                _ => {}
            }
            if let Some(h) = plausible_host(first(header(headers, "x-forwarded-host"))) {
                host = Some(h);
            }
        }
        let host = host.unwrap_or_else(|| arrival.local.to_string());
        format!("{scheme}://{host}")
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn first(v: Option<&str>) -> Option<&str> {
    v.and_then(|v| v.split(',').next()).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let n: ProxyNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        let one: ProxyNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6: ProxyNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", ""] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn public_urls_are_scheme_and_authority_only() {
        assert_eq!(parse_public_url("https://wsus.contoso.com:8531/").unwrap(), "https://wsus.contoso.com:8531");
        assert_eq!(parse_public_url("HTTP://[2001:db8::1]:8530").unwrap(), "http://[2001:db8::1]:8530");
        for bad in ["wsus.contoso.com", "ftp://wsus", "https://wsus/content", "https://", "https://a@b"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_from_trusted_proxies_only() {
        let policy = UrlPolicy { public_url: None, trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()] };
        let arrival = Arrival { tls: false, local: "0.0.0.0:8530".parse().unwrap() };
        let h = headers(&[
            ("host", "backend:8530"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "wsus.contoso.com:8531, inner.proxy"),
        ]);
        assert_eq!(policy.base_from(&h, arrival, Some("10.9.9.9".parse().unwrap())), "https://wsus.contoso.com:8531");
        assert_eq!(policy.base_from(&h, arrival, Some("192.0.2.1".parse().unwrap())), "http://backend:8530");
        // A forwarded host that could change the URL's meaning is not used.
        let h = headers(&[("host", "backend:8530"), ("x-forwarded-host", "evil/path"), ("x-forwarded-proto", "gopher")]);
        assert_eq!(policy.base_from(&h, arrival, Some("10.0.0.1".parse().unwrap())), "http://backend:8530");
        // No Host at all: the listener's address, with its scheme.
        let tls = Arrival { tls: true, local: "127.0.0.1:8531".parse().unwrap() };
        assert_eq!(policy.base_from(&HeaderMap::new(), tls, None), "https://127.0.0.1:8531");
    }
}
