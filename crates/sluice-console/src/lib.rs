//! The web console's pages, rendered from the admin API's types (`sluice-api`) into HTML and
//! SVG. No I/O: the server crate (`sluice-server/src/console*.rs`) authenticates the session,
//! calls the admin API on the user's behalf and hands the answers to these builders.
//!
//! Every page is a [`page::Layout`] (title, navigation, user, CSRF token) and a list of
//! blocks (cards, tables, forms, facts, charts, pagers), so every page looks alike and a new
//! page is a function that arranges blocks, not a new template.

pub mod blocks;
pub mod chart;
pub mod csrf;
pub mod format;
pub mod notice;
pub mod page;

pub use blocks::*;
pub use page::{Layout, LoginPage, Page, Section};

/// The console's style sheet, served at `/assets/console.css`.
pub const STYLE_SHEET: &str = include_str!("../assets/console.css");
/// The console's script (progressive enhancement only: every page works without it),
/// served at `/assets/console.js`.
pub const SCRIPT: &str = include_str!("../assets/console.js");
