//! Helpers shared by Sluice's test suites and nothing else: only `[dev-dependencies]` name this
//! crate, so none of it reaches the binary.
//!
//! - [`postgres`]: a throw-away database per test on the server `SLUICE_TEST_POSTGRES_URL` names
//!   (`.ci/run` starts one), skipped without it unless `SLUICE_REQUIRE_POSTGRES=1`.
//! - [`server`] (feature `server`): a Sluice server with its own temporary data directory,
//!   loopback ports and admin token, started in process ([`server::TestServer`]) or as the
//!   built `sluice` binary ([`process::ServerProcess`]).
//! - [`finding`] (feature `server`): a small catalog with computers, statuses, a group, an
//!   approval and a decline, on which every update filter and report selects something different.
//! - [`http`] (feature `http`): any axum router served on a loopback port, for the fake
//!   upstreams and proxies the suites build around a server.
//! - [`moto`] (feature `s3`): a real S3-compatible server (moto) on a loopback port, skipped
//!   without `moto[server]` unless `SLUICE_REQUIRE_S3=1`.
//! - [`smtp`] (feature `smtp`): a plain-SMTP sink on a loopback port that hands over every
//!   message it accepts, for the e-mail tests.

pub mod postgres;

#[cfg(feature = "server")]
pub mod finding;

#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "s3")]
pub mod moto;
#[cfg(feature = "server")]
pub mod process;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "smtp")]
pub mod smtp;
