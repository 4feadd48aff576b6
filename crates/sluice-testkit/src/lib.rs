//! Helpers shared by Sluice's test suites and nothing else: only `[dev-dependencies]` name this
//! crate, so none of it reaches the binary.
//!
//! - [`postgres`]: a throw-away database per test on the server `SLUICE_TEST_POSTGRES_URL` names
//!   (`.ci/run` starts one), skipped without it unless `SLUICE_REQUIRE_POSTGRES=1`.

pub mod postgres;
