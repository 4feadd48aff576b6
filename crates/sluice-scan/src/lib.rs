//! Client scan evaluation: the in-memory catalog index, per-computer deployments, the
//! SyncUpdates algorithm and the cookies that carry client state between calls.
//! Knows nothing of SOAP or HTTP.

pub mod cookie;
pub mod index;
pub mod scope;
pub mod sync;
