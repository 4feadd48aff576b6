//! The frame every page shares (title, navigation named like the WSUS console's nodes, the
//! signed-in user, the CSRF token) and the login page.

use askama::Template;

/// The console's top-level nodes, as the WSUS console names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Updates,
    Computers,
    DownstreamServers,
    Synchronizations,
    Reports,
    Options,
    Servers,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Dashboard,
        Section::Updates,
        Section::Computers,
        Section::DownstreamServers,
        Section::Synchronizations,
        Section::Reports,
        Section::Options,
        Section::Servers,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::Dashboard => "Dashboard",
            Section::Updates => "Updates",
            Section::Computers => "Computers",
            Section::DownstreamServers => "Downstream Servers",
            Section::Synchronizations => "Synchronizations",
            Section::Reports => "Reports",
            Section::Options => "Options",
            Section::Servers => "Servers",
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            Section::Dashboard => "/",
            Section::Updates => "/updates",
            Section::Computers => "/computers",
            Section::DownstreamServers => "/downstream-servers",
            Section::Synchronizations => "/synchronizations",
            Section::Reports => "/reports",
            Section::Options => "/options",
            Section::Servers => "/servers",
        }
    }
}

/// One entry of the navigation.
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// What every page of a signed-in user carries.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's `<h1>` and `<title>`.
    pub title: String,
    pub section: Section,
    pub user: String,
    /// "Administrator" or "Reporter".
    pub role: String,
    /// Whether the user may change anything: a Reporter's pages show no controls.
    pub can_change: bool,
    pub csrf: String,
    /// A success message (see `notice`).
    pub notice: Option<String>,
    /// A failure the whole page is about (an action refused, the API unavailable).
    pub error: Option<String>,
    pub server_version: String,
    /// Trusted servers the switcher offers.
    pub servers: Vec<String>,
    /// The trusted server the pages show, if not this one.
    pub on: Option<String>,
}

impl Layout {
    pub fn nav(&self) -> Vec<NavItem> {
        Section::ALL
            .iter()
            .map(|s| NavItem { label: s.label(), href: s.href(), current: *s == self.section })
            .collect()
    }
}

/// A page: the frame and its blocks, each already rendered (see `blocks`).
#[derive(Template)]
#[template(path = "page.html")]
pub struct Page {
    pub layout: Layout,
    /// Links under the title back to where this page sits (e.g. Updates › KB5012345).
    pub trail: Vec<(String, String)>,
    pub blocks: Vec<String>,
}

impl Page {
    pub fn new(layout: Layout) -> Page {
        Page { layout, trail: Vec::new(), blocks: Vec::new() }
    }

    /// Adds a link to the trail above the title.
    pub fn trail(mut self, label: impl Into<String>, href: impl Into<String>) -> Page {
        self.trail.push((label.into(), href.into()));
        self
    }

    /// Appends a rendered block.
    pub fn push(&mut self, block: impl crate::blocks::Block) {
        self.blocks.push(block.html());
    }

    /// Appends a block built only for users who may change things; a Reporter's page leaves
    /// it out.
    pub fn push_control(&mut self, block: impl crate::blocks::Block) {
        if self.layout.can_change {
            self.push(block);
        }
    }

    pub fn html(&self) -> String {
        self.render().unwrap_or_else(|e| format!("<!doctype html><title>Error</title><p>cannot render the page: {e}"))
    }
}

/// The login form (`/login`).
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub username: String,
    /// Where to go after logging in (a path of this console).
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// The login form's CSRF token (also in a cookie: there is no session yet).
    pub login_token: String,
}

impl LoginPage {
    pub fn html(&self) -> String {
        self.render().unwrap_or_else(|e| format!("<!doctype html><title>Error</title><p>cannot render the page: {e}"))
    }
}
