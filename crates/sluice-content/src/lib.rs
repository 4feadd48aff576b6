//! sluice-content
