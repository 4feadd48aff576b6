//! A Windows Update Agent simulator: the MS-WUSP client side, with the request shapes of the
//! real Windows 11 agent, a persistent machine state, ranged verified downloads, installation
//! into a machine profile and status reporting. Used by `sluice agent` and the load tests.

pub mod agent;
pub mod fleet;
pub mod profile;
pub mod requests;
pub mod soak;
pub mod trust;
pub mod wire;
