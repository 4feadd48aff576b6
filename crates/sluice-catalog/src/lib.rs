//! sluice-catalog
