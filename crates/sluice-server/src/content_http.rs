//! Serving `/Content/…` over HTTP (owned by the content work).
