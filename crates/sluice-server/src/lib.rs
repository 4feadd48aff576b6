//! HTTP edge of Sluice: the client listener (content, later the SOAP services) and the admin API.

pub mod content_http;
