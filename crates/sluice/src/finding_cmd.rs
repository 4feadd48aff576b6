//! Finding updates: `sluice updates list` with its filters, sort and paging, and
//! `sluice products list` / `sluice classifications list`.

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use sluice_api::{CategoryView, UpdatePage, UpdateQuery};

use crate::Remote;
use crate::client::AdminClient;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalArg {
    /// Neither approved for any group nor declined
    Unapproved,
    /// Approved (install or uninstall) for some group
    Approved,
    Declined,
    NotDeclined,
}

/// The filters `updates list`, `approve` and `decline` share.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Text in the title, description or KB number
    #[arg(long)]
    pub text: Option<String>,
    /// Classification title or id ("Security Updates")
    #[arg(long)]
    pub classification: Option<String>,
    /// Product (or product family) title or id ("Windows 11")
    #[arg(long)]
    pub product: Option<String>,
    /// MSRC severity: critical, important, moderate, low
    #[arg(long)]
    pub severity: Option<String>,
    /// Approval state
    #[arg(long, value_enum)]
    pub approval: Option<ApprovalArg>,
    /// Approved for this group itself (name or id)
    #[arg(long, value_name = "GROUP")]
    pub approved_for: Option<String>,
    /// Only updates another update supersedes
    #[arg(long, conflicts_with = "not_superseded")]
    pub superseded: bool,
    /// Only updates no other update supersedes
    #[arg(long)]
    pub not_superseded: bool,
    /// Only expired updates
    #[arg(long, conflicts_with = "not_expired")]
    pub expired: bool,
    /// Only updates that have not expired
    #[arg(long)]
    pub not_expired: bool,
    /// Needed by at least N computers (N = 1 when left out)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub needed: Option<i64>,
    /// Failed on at least N computers (N = 1 when left out)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub failed: Option<i64>,
    /// Released on or after this date (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "DATE")]
    pub released_from: Option<String>,
    /// Released on or before this date
    #[arg(long, value_name = "DATE")]
    pub released_to: Option<String>,
}

fn tri(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

impl FilterArgs {
    /// Whether any filter is given.
    pub fn any(&self) -> bool {
        self.query() != UpdateQuery::default()
    }

    pub fn query(&self) -> UpdateQuery {
        UpdateQuery {
            text: self.text.clone(),
            classification: self.classification.clone(),
            product: self.product.clone(),
            msrc_severity: self.severity.clone(),
            approval: self.approval.map(|a| {
                match a {
                    ApprovalArg::Unapproved => "unapproved",
                    ApprovalArg::Approved => "approved",
                    ApprovalArg::Declined => "declined",
                    ApprovalArg::NotDeclined => "not_declined",
                }
                .to_string()
            }),
            group: self.approved_for.clone(),
            superseded: tri(self.superseded, self.not_superseded),
            expired: tri(self.expired, self.not_expired),
            needed: self.needed,
            failed: self.failed,
            released_from: self.released_from.clone(),
            released_to: self.released_to.clone(),
            ..UpdateQuery::default()
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortArg {
    Release,
    Title,
    Kb,
    Needed,
    Failed,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// KB article number
    #[arg(long)]
    kb: Option<String>,
    /// Also list categories (products, classifications) and detectoids
    #[arg(long)]
    all_types: bool,
    /// Order [default: newest release first]
    #[arg(long, value_enum)]
    sort: Option<SortArg>,
    /// Reverse the order
    #[arg(long)]
    desc: bool,
    /// Page size (1-10000)
    #[arg(long, default_value_t = 200)]
    limit: u32,
    /// Updates to skip
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Print the page as JSON ({total, limit, offset, items})
    #[arg(long)]
    json: bool,
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

pub async fn list(remote: &Remote, a: ListArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let q = UpdateQuery {
        kb: a.kb,
        all_types: a.all_types,
        sort: a.sort.map(|s| format!("{s:?}").to_lowercase()),
        desc: a.desc,
        limit: Some(a.limit),
        offset: Some(a.offset),
        ..a.filter.query()
    };
    let page: UpdatePage = client.send(client.request(Method::GET, "/updates").query(&q)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    outln!(
        "{:<36}  {:>4}  {:<10}  {:<22}  {:>7}  {:>6}  TITLE",
        "UPDATE ID", "REV", "KB", "CLASSIFICATION", "NEEDED", "FAILED"
    );
    for u in &page.items {
        outln!(
            "{:<36}  {:>4}  {:<10}  {:<22}  {:>7}  {:>6}  {}{}",
            u.update_id,
            u.revision_number,
            u.kb_article.as_deref().unwrap_or("-"),
            truncate(u.classification.as_deref().unwrap_or("-"), 22),
            u.needed,
            u.failed,
            u.title,
            if u.declined { " (declined)" } else { "" }
        );
    }
    let first = if page.items.is_empty() { 0 } else { page.offset as i64 + 1 };
    outln!("{}-{} of {} update(s)", first, page.offset as i64 + page.items.len() as i64, page.total);
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum CategoriesCommand {
    /// List them by name, with ids and whether the sync selection asks for them
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `sluice products list` (`path` "/products") and `sluice classifications list`.
pub async fn categories(remote: &Remote, path: &str, c: CategoriesCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let CategoriesCommand::List { json } = c;
    let list: Vec<CategoryView> = client.send(client.request(Method::GET, path)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    outln!("{:<50}  {:<36}  SELECTED", "NAME", "ID");
    for c in &list {
        outln!(
            "{:<50}  {:<36}  {}",
            c.name.as_deref().unwrap_or("(not synchronised yet)"),
            c.id,
            if c.selected { "yes" } else { "no" }
        );
    }
    Ok(())
}
