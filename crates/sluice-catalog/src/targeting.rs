//! Computer groups, approvals, declines and the approval each computer ends up with.
//!
//! The first half is pure: [`TargetingSnapshot`] is built once from every group, approval and
//! decline, and answers "what is approved for a computer in these groups" without I/O, so the
//! SyncUpdates path can rebuild it when [`Catalog::approvals_version`] changes and cache its
//! answers per group set. The second half is the catalog service the admin API calls.
//!
//! WSUS rules implemented here:
//! - every group hangs under "All Computers"; an approval on a group applies to its descendants
//!   unless a nearer group has its own approval for the same update (an explicit Not Approved
//!   stops inheritance);
//! - a computer is implicitly in "All Computers", and in "Unassigned Computers" when it has no
//!   other group;
//! - when a computer's groups disagree, Install beats Uninstall beats Not Approved, and among
//!   the approvals with the winning action the earliest deadline applies;
//! - declined updates have no effective approval at all, and cannot be approved until they are
//!   un-declined.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sluice_metadata::UpdateType as DocType;
use sluice_store::{
    ALL_COMPUTERS_GROUP, Approval, ApprovalAction, ApprovalRemoval, Computer, ComputerGroup, Revision, StoreError,
    UNASSIGNED_COMPUTERS_GROUP, UpdateStatus, UpdateType,
};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::api::{
    ApprovalQuery, ApprovalRequest, ApprovalView, ComputerDetail, ComputerGroupView, ComputerStatusRow,
    ComputerUpdateStatus, ComputerView, CreateGroupRequest, DeclineView, DeletedGroup, EffectiveApprovalView,
    StatusCounts, StatusQuery, StatusReport, TargetingSettings, UpdateStatusRow,
};
use crate::{Catalog, CatalogError};

// ------------------------------------------------------------------ domain

/// Where a computer's group memberships come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetingMode {
    /// Administrators assign computers to groups (`sluice computers move`).
    #[default]
    Server,
    /// Computers name their groups themselves (the `TargetGroup` policy, sent as
    /// TargetGroupName in GetAuthorizationCookie).
    Client,
}

impl TargetingMode {
    /// The spelling used in settings, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetingMode::Server => "server",
            TargetingMode::Client => "client",
        }
    }

    /// Parses `server` or `client` (any case).
    pub fn parse(s: &str) -> Option<TargetingMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "server" => Some(TargetingMode::Server),
            "client" => Some(TargetingMode::Client),
            _ => None,
        }
    }
}

/// What applies to one update on one computer once inheritance and conflicts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveApproval {
    /// Install, Uninstall or (explicitly) Not Approved.
    pub action: ApprovalAction,
    /// The earliest deadline among the approvals carrying the winning action; never set for
    /// Not Approved.
    pub deadline: Option<OffsetDateTime>,
    /// The group whose approval won (possibly an ancestor of the computer's group).
    pub approval_group: Uuid,
    /// The newest `approved_at` among the approvals that were weighed for this computer, so a
    /// change to any of them moves it forward. Removed approvals leave no row to weigh: see
    /// [`TargetingSnapshot::removals_for_groups`].
    pub last_change: OffsetDateTime,
}

#[derive(Debug, Clone, Copy)]
struct GroupApproval {
    action: ApprovalAction,
    deadline: Option<OffsetDateTime>,
    approved_at: OffsetDateTime,
}

/// Every group, approval and decline at one moment, for resolving effective approvals.
#[derive(Debug, Clone, Default)]
pub struct TargetingSnapshot {
    parents: HashMap<Uuid, Option<Uuid>>,
    /// Lower-cased name → id, for client-side targeting.
    by_name: HashMap<String, Uuid>,
    /// Group → update → the group's own approval.
    approvals: HashMap<Uuid, HashMap<Uuid, GroupApproval>>,
    declined: HashSet<Uuid>,
    /// Group → update → when the group's approval of it was last removed.
    removals: HashMap<Uuid, HashMap<Uuid, OffsetDateTime>>,
}

/// Case-insensitive group name key: full Unicode lower case, so both database backends and
/// client-side targeting agree on what "the same name" means.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn action_rank(a: ApprovalAction) -> u8 {
    match a {
        ApprovalAction::Install => 2,
        ApprovalAction::Uninstall => 1,
        ApprovalAction::NotApproved => 0,
    }
}

/// True when `candidate` should replace `current` for a computer in several groups: the
/// stronger action first, then a deadline over none, then the earlier deadline. The group id
/// breaks remaining ties so the answer never depends on the order groups are visited in.
fn outranks(candidate: &EffectiveApproval, current: &EffectiveApproval) -> bool {
    let (rc, ro) = (action_rank(candidate.action), action_rank(current.action));
    if rc != ro {
        return rc > ro;
    }
    match (candidate.deadline, current.deadline) {
        (Some(c), Some(o)) if c != o => return c < o,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        _ => {}
    }
    candidate.approval_group < current.approval_group
}

impl TargetingSnapshot {
    /// Builds the snapshot. Approvals of declined updates and of unknown groups are ignored.
    pub fn new(
        groups: &[ComputerGroup],
        approvals: &[Approval],
        declined: impl IntoIterator<Item = Uuid>,
    ) -> TargetingSnapshot {
        let mut s = TargetingSnapshot {
            declined: declined.into_iter().collect(),
            ..TargetingSnapshot::default()
        };
        for g in groups {
            s.parents.insert(g.id, g.parent_id);
            s.by_name.insert(name_key(&g.name), g.id);
        }
        // The built-in groups exist in every database; keep the tree rooted even if a caller
        // passes a partial group list.
        s.parents.entry(ALL_COMPUTERS_GROUP).or_insert(None);
        s.parents
            .entry(UNASSIGNED_COMPUTERS_GROUP)
            .or_insert(Some(ALL_COMPUTERS_GROUP));
        for a in approvals {
            if s.declined.contains(&a.update_id) || !s.parents.contains_key(&a.group_id) {
                continue;
            }
            s.approvals.entry(a.group_id).or_default().insert(
                a.update_id,
                GroupApproval {
                    action: a.action,
                    deadline: a.deadline,
                    approved_at: a.approved_at,
                },
            );
        }
        s
    }

    /// Adds when approvals were removed, so that
    /// [`removals_for_groups`](Self::removals_for_groups) can answer.
    pub fn with_removals(mut self, removals: &[ApprovalRemoval]) -> TargetingSnapshot {
        for r in removals {
            let at = self.removals.entry(r.group_id).or_default().entry(r.update_id).or_insert(r.removed_at);
            *at = (*at).max(r.removed_at);
        }
        self
    }

    /// Per update, the latest removal of an approval on any group whose approvals reach a
    /// computer in `groups` (its groups and their ancestors). Such a removal may have changed
    /// the computer's deployment of the update (back to not approved, or to an approval it
    /// now inherits), and this time is the only trace of it: WSUS gives the changed deployment
    /// a new change time, which is how an incremental SyncUpdates lists it in ChangedUpdates
    /// (MS-WUSP 3.1.5.7). A removal that a nearer approval masked is included too; the client
    /// then merely gets its unchanged deployment again.
    pub fn removals_for_groups(&self, groups: &[Uuid]) -> HashMap<Uuid, OffsetDateTime> {
        let mut out: HashMap<Uuid, OffsetDateTime> = HashMap::new();
        if self.removals.is_empty() {
            return out;
        }
        let mut seen: HashSet<Uuid> = HashSet::new();
        for g in self.membership(groups) {
            for anc in self.ancestry(g) {
                if !seen.insert(anc) {
                    continue;
                }
                let Some(own) = self.removals.get(&anc) else { continue };
                for (update, at) in own {
                    if self.declined.contains(update) {
                        continue;
                    }
                    let e = out.entry(*update).or_insert(*at);
                    *e = (*e).max(*at);
                }
            }
        }
        out
    }

    /// Whether the update is declined.
    pub fn is_declined(&self, update_id: Uuid) -> bool {
        self.declined.contains(&update_id)
    }

    /// Whether the group exists in the snapshot.
    pub fn has_group(&self, group_id: Uuid) -> bool {
        self.parents.contains_key(&group_id)
    }

    /// A group by name, case-insensitively (client-side targeting names groups).
    pub fn group_by_name(&self, name: &str) -> Option<Uuid> {
        self.by_name.get(&name_key(name)).copied()
    }

    /// The group followed by its ancestors, nearest first, always ending with "All Computers"
    /// (a group stored without a parent still hangs under it). Empty for an unknown group.
    pub fn ancestry(&self, group_id: Uuid) -> Vec<Uuid> {
        let mut chain = Vec::new();
        let mut next = self.parents.contains_key(&group_id).then_some(group_id);
        while let Some(g) = next {
            // The store cannot create cycles (a parent must exist first and is never changed),
            // but a corrupt table must not hang a scan.
            if chain.contains(&g) || chain.len() > self.parents.len() {
                break;
            }
            chain.push(g);
            next = self.parents.get(&g).copied().flatten();
        }
        if !chain.is_empty() && chain.last() != Some(&ALL_COMPUTERS_GROUP) {
            chain.push(ALL_COMPUTERS_GROUP);
        }
        chain
    }

    /// A computer's canonical group set from its explicit memberships: known groups only,
    /// sorted, without "All Computers" (implied by every group), and "Unassigned Computers"
    /// exactly when no other group remains. Equal sets get equal answers, so this is the key
    /// to cache [`effective_for_groups`](Self::effective_for_groups) under.
    pub fn membership(&self, explicit: &[Uuid]) -> Vec<Uuid> {
        let mut set: Vec<Uuid> = explicit
            .iter()
            .copied()
            .filter(|g| *g != ALL_COMPUTERS_GROUP && *g != UNASSIGNED_COMPUTERS_GROUP && self.has_group(*g))
            .collect();
        set.sort();
        set.dedup();
        if set.is_empty() {
            set.push(UNASSIGNED_COMPUTERS_GROUP);
        }
        set
    }

    /// Whether a computer with this canonical membership belongs to `group` directly (every
    /// computer belongs to "All Computers").
    pub fn is_member(&self, membership: &[Uuid], group_id: Uuid) -> bool {
        group_id == ALL_COMPUTERS_GROUP || membership.contains(&group_id)
    }

    /// A computer's canonical group set under the targeting mode: the groups an administrator
    /// assigned (server-side), or the existing groups named in the client's TargetGroupName
    /// (client-side; `;`-separated, case-insensitive, unknown names ignored).
    pub fn groups_of(&self, mode: TargetingMode, assigned: &[Uuid], requested: Option<&str>) -> Vec<Uuid> {
        match mode {
            TargetingMode::Server => self.membership(assigned),
            TargetingMode::Client => {
                let named: Vec<Uuid> = requested
                    .unwrap_or("")
                    .split(';')
                    .filter_map(|n| self.group_by_name(n))
                    .collect();
                self.membership(&named)
            }
        }
    }

    /// The effective approval of one group on its own: per update, the nearest approval on the
    /// group or its ancestors.
    fn effective_for_group(&self, group_id: Uuid, out: &mut HashMap<Uuid, EffectiveApproval>) {
        for g in self.ancestry(group_id) {
            let Some(own) = self.approvals.get(&g) else { continue };
            for (update, a) in own {
                out.entry(*update).or_insert(EffectiveApproval {
                    action: a.action,
                    deadline: if a.action == ApprovalAction::NotApproved {
                        None
                    } else {
                        a.deadline
                    },
                    approval_group: g,
                    last_change: a.approved_at,
                });
            }
        }
    }

    /// The effective approval of every update that has one, for a computer whose explicit
    /// groups are `groups` (normalised with [`membership`](Self::membership) first). Updates
    /// without any approval along the computer's groups are absent (not approved).
    pub fn effective_for_groups(&self, groups: &[Uuid]) -> HashMap<Uuid, EffectiveApproval> {
        let mut result: HashMap<Uuid, EffectiveApproval> = HashMap::new();
        // "All Computers" is never a competitor of its own: it reaches the computer only
        // through the ancestry of its groups, where a nearer Not Approved can block it.
        for g in self.membership(groups) {
            let mut per_group = HashMap::new();
            self.effective_for_group(g, &mut per_group);
            for (update, candidate) in per_group {
                match result.get_mut(&update) {
                    None => {
                        result.insert(update, candidate);
                    }
                    Some(current) => {
                        let newest = current.last_change.max(candidate.last_change);
                        if outranks(&candidate, current) {
                            *current = candidate;
                        }
                        current.last_change = newest;
                    }
                }
            }
        }
        result
    }

    /// The effective approval of one update for a computer in `groups`.
    pub fn effective_for_update(&self, update_id: Uuid, groups: &[Uuid]) -> Option<EffectiveApproval> {
        if self.is_declined(update_id) {
            return None;
        }
        let mut best: Option<EffectiveApproval> = None;
        for g in self.membership(groups) {
            let found = self.ancestry(g).into_iter().find_map(|anc| {
                let a = self.approvals.get(&anc)?.get(&update_id)?;
                Some(EffectiveApproval {
                    action: a.action,
                    deadline: if a.action == ApprovalAction::NotApproved {
                        None
                    } else {
                        a.deadline
                    },
                    approval_group: anc,
                    last_change: a.approved_at,
                })
            });
            if let Some(candidate) = found {
                best = Some(match best {
                    None => candidate,
                    Some(mut current) => {
                        let newest = current.last_change.max(candidate.last_change);
                        if outranks(&candidate, &current) {
                            current = candidate;
                        }
                        current.last_change = newest;
                        current
                    }
                });
            }
        }
        best
    }
}

/// A configuration change time in UTC, cut to whole milliseconds: it travels through clients
/// as xsd:dateTime and is compared in milliseconds.
fn config_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t)
}

fn format_config_time(t: OffsetDateTime) -> Result<String, CatalogError> {
    t.format(&Rfc3339).map_err(|e| CatalogError::Internal(format!("configuration change time {t}: {e}")))
}

/// Parses an RFC 3339 date-time (with its offset), as deadlines are given.
pub fn parse_rfc3339_utc(s: &str) -> Result<OffsetDateTime, CatalogError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| {
            invalid(format!(
                "'{s}' is not an RFC 3339 date-time such as 2026-05-01T18:00:00Z"
            ))
        })
}

/// Formats a time as RFC 3339 in UTC, the way every view shows times.
pub fn format_utc(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Parses an approval action as the API and CLI spell it.
pub fn parse_action(s: &str) -> Result<ApprovalAction, CatalogError> {
    match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "install" => Ok(ApprovalAction::Install),
        "uninstall" | "remove" => Ok(ApprovalAction::Uninstall),
        "not_approved" | "notapproved" => Ok(ApprovalAction::NotApproved),
        _ => Err(invalid(format!(
            "'{s}' is not an approval action; use install, uninstall or not-approved"
        ))),
    }
}

// ------------------------------------------------------------------ catalog service

/// Settings keys.
const MODE_SETTING: &str = "targeting-mode";
const VERSION_SETTING: &str = "approvals-version";
/// The configuration LastChange clients get from GetConfig and echo in GetCookie.
pub const CLIENT_CONFIG_CHANGE_SETTING: &str = "client-config-last-change";
/// The sync settings document (owned by sluice-sync); only its `mode` and `upstream` are read here.
const SYNC_SETTINGS: &str = "sync-settings";

/// Longest group name accepted (WSUS allows 256 characters).
const MAX_GROUP_NAME: usize = 256;

/// Characters that are invisible or reorder the text around them: bidi embeddings, overrides,
/// isolates and marks, zero-width spaces and joiners, the word joiner, the byte order mark, line
/// and paragraph separators. In a group name they make look-alikes ("Ring 1" and "Ring\u{200b} 1",
/// or a right-to-left override that shows "Servers" for another name), which administrators and
/// clients' TargetGroup policies would confuse.
fn is_invisible_or_reordering(c: char) -> bool {
    matches!(c,
        '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

/// What a computer group name may be (it is already trimmed): not empty, at most
/// [`MAX_GROUP_NAME`] characters (WSUS's `tbTargetGroup.Name` is `nvarchar(256)`), no control
/// characters and none of [`is_invisible_or_reordering`].
pub fn check_group_name(name: &str) -> Result<(), CatalogError> {
    if name.is_empty() {
        return Err(invalid("a computer group needs a name"));
    }
    let len = name.encode_utf16().count();
    if len > MAX_GROUP_NAME {
        return Err(invalid(format!(
            "a computer group name has at most {MAX_GROUP_NAME} characters (this one has {len})"
        )));
    }
    if let Some(c) = name.chars().find(|&c| char::is_control(c)) {
        return Err(invalid(format!(
            "a computer group name cannot contain control characters (U+{:04X})",
            c as u32
        )));
    }
    if let Some(c) = name.chars().find(|&c| is_invisible_or_reordering(c)) {
        return Err(invalid(format!(
            "a computer group name cannot contain invisible or text-direction characters (U+{:04X}), which make look-alike names",
            c as u32
        )));
    }
    Ok(())
}

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::InvalidRequest(msg.into())
}

/// A request that clashes with the catalog's state (mapped to 409 by the admin API).
fn conflict(msg: impl Into<String>) -> CatalogError {
    CatalogError::Store(StoreError::Conflict(msg.into()))
}

fn parse_update_id(s: &str) -> Result<Uuid, CatalogError> {
    Uuid::parse_str(s.trim()).map_err(|_| invalid(format!("'{s}' is not an update id")))
}

fn os_version(c: &Computer) -> Option<String> {
    let i = &c.info;
    let parts: Vec<String> = [i.os_major, i.os_minor, i.os_build, i.os_revision]
        .iter()
        .map_while(|p| p.map(|v| v.to_string()))
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// The key an update's license terms are accepted under: its `EulaID` when it is a GUID,
/// otherwise one derived from the EULA file's SHA-1, so every update carrying the same text
/// shares the acceptance.
pub fn eula_key(eula_id: Option<&str>, eula_digests: &[[u8; 20]]) -> Result<Option<Uuid>, CatalogError> {
    if let Some(id) = eula_id.map(str::trim).filter(|s| !s.is_empty()) {
        if let Ok(u) = Uuid::parse_str(id) {
            return Ok(Some(u));
        }
        if eula_digests.is_empty() {
            return Err(invalid(format!(
                "the update's EulaID '{id}' is not a GUID, so its acceptance cannot be recorded"
            )));
        }
    }
    // The smallest digest, so the key does not depend on the order of the language variants.
    Ok(eula_digests.iter().min().map(|d| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        uuid::Builder::from_custom_bytes(b).into_uuid()
    }))
}

/// What approving needs to know about an update beyond its indexed columns.
struct LicenseAndBehaviour {
    eula: Option<Uuid>,
    eula_files: Vec<String>,
    needs_user_input: bool,
}

impl Catalog {
    async fn license_and_behaviour(&self, rev: &Revision) -> Result<LicenseAndBehaviour, CatalogError> {
        let xml = self
            .store
            .revision_xml(rev.id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("revision {}", rev.id)))?;
        let parsed = tokio::task::spawn_blocking(move || {
            let text = crate::prepare::decompress(&xml).map_err(|e| e.to_string())?;
            sluice_metadata::parse_update_bytes(text.as_bytes(), "stored revision").map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| CatalogError::Internal(e.to_string()))?
        .map_err(|e| {
            CatalogError::Internal(format!(
                "the stored document of revision {} no longer parses: {e}",
                rev.id
            ))
        })?;
        let u = &parsed.update;
        let digests: Vec<[u8; 20]> = u.eulas.iter().map(|e| e.file.sha1).collect();
        Ok(LicenseAndBehaviour {
            eula: eula_key(u.properties.eula_id.as_deref(), &digests)?,
            eula_files: u
                .eulas
                .iter()
                .map(|e| format!("{} ({})", e.file.file_name, e.language))
                .collect(),
            needs_user_input: u.properties.update_type != DocType::Category
                && u.properties
                    .installation_behavior
                    .as_ref()
                    .and_then(|b| b.can_request_user_input)
                    == Some(true),
        })
    }

    /// The latest revision of an update that can carry approvals and declines.
    async fn approvable_revision(&self, update: &str) -> Result<Revision, CatalogError> {
        let id = parse_update_id(update)?;
        let rev = self
            .store
            .latest_revision(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("update {id}")))?;
        match rev.update_type {
            UpdateType::Category => Err(invalid(format!(
                "{id} is a category ('{}'); only software and driver updates are approved or declined",
                rev.title
            ))),
            UpdateType::Detectoid => Err(invalid(format!(
                "{id} is a detectoid; only software and driver updates are approved or declined"
            ))),
            _ => Ok(rev),
        }
    }

    /// Every group, read once; name resolution happens in memory so it is the same on both
    /// database backends.
    async fn groups(&self) -> Result<Vec<ComputerGroup>, CatalogError> {
        Ok(self.store.list_groups().await?)
    }

    fn find_group<'a>(groups: &'a [ComputerGroup], name_or_id: &str) -> Result<&'a ComputerGroup, CatalogError> {
        let wanted = name_or_id.trim();
        let by_id = Uuid::parse_str(wanted).ok();
        let key = name_key(wanted);
        groups
            .iter()
            .find(|g| Some(g.id) == by_id)
            .or_else(|| groups.iter().find(|g| name_key(&g.name) == key))
            .ok_or_else(|| CatalogError::NotFound(format!("computer group '{wanted}'")))
    }

    /// Builds the snapshot of every group, approval and decline.
    pub async fn targeting_snapshot(&self) -> Result<TargetingSnapshot, CatalogError> {
        let groups = self.store.list_groups().await?;
        let approvals = self.store.all_approvals().await?;
        let declined = self.store.list_declined().await?;
        let removals = self.store.approval_removals().await?;
        Ok(TargetingSnapshot::new(
            &groups,
            &approvals,
            declined.into_iter().map(|d| d.update_id),
        )
        .with_removals(&removals))
    }

    /// A value that changes whenever groups, approvals, declines or the targeting mode change
    /// through the catalog: one settings read. Read it before
    /// [`targeting_snapshot`](Self::targeting_snapshot) and rebuild when it differs; 0 before
    /// the first change.
    pub async fn approvals_version(&self) -> Result<i64, CatalogError> {
        Ok(self
            .store
            .get_setting(VERSION_SETTING)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Moves [`approvals_version`](Self::approvals_version) on, after a change is committed.
    /// Time-based and strictly increasing, so two servers sharing a database cannot write the
    /// same value for different changes in practice, and a reader comparing for equality always
    /// notices a later change.
    async fn bump_version(&self) -> Result<(), CatalogError> {
        let current = self.approvals_version().await?;
        let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX);
        let next = now.max(current.saturating_add(1));
        self.store.set_setting(VERSION_SETTING, &next.to_string()).await?;
        Ok(())
    }

    /// Moves [`approvals_version`](Self::approvals_version) on after groups, approvals or
    /// declines were written straight to the store (a replica's sync mirroring its upstream),
    /// so that clients see the change.
    pub async fn bump_approvals_version(&self) -> Result<(), CatalogError> {
        self.bump_version().await
    }

    /// `Some(upstream)` when this server is a replica (sync settings `mode: replica`): its
    /// groups, approvals and declines come from that upstream and cannot be changed here.
    pub async fn replica_of(&self) -> Result<Option<String>, CatalogError> {
        let Some(raw) = self.store.get_setting(SYNC_SETTINGS).await? else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_str(&raw)
            .map_err(|e| CatalogError::Internal(format!("unreadable sync settings: {e}")))?;
        if v.get("mode").and_then(|m| m.as_str()).is_some_and(|m| m.eq_ignore_ascii_case("replica")) {
            let upstream = v.get("upstream").and_then(|u| u.as_str()).unwrap_or("").to_string();
            return Ok(Some(upstream));
        }
        Ok(None)
    }

    /// Refuses a local change of groups, approvals or declines on a replica.
    async fn refuse_on_replica(&self) -> Result<(), CatalogError> {
        match self.replica_of().await? {
            Some(upstream) => Err(conflict(format!(
                "this server is a replica of {upstream}: approvals come from it \
                 (groups, approvals and declines are changed there; switch the sync mode to autonomous to manage them here)"
            ))),
            None => Ok(()),
        }
    }

    /// The targeting mode (server-side unless set otherwise).
    pub async fn targeting_mode(&self) -> Result<TargetingMode, CatalogError> {
        Ok(self
            .store
            .get_setting(MODE_SETTING)
            .await?
            .and_then(|v| TargetingMode::parse(&v))
            .unwrap_or_default())
    }

    /// Sets the targeting mode. A change moves the client configuration's LastChange on in the
    /// same write: clients holding a cookie issued for the old configuration then get
    /// ConfigChanged and go through GetConfig, GetAuthorizationCookie (where client-side
    /// targeting names its groups) and GetCookie again (MS-WUSP 3.1.5.4, 3.1.5.7). Setting the
    /// mode in force changes nothing.
    pub async fn set_targeting_mode(&self, mode: TargetingMode) -> Result<TargetingSettings, CatalogError> {
        if self.targeting_mode().await? == mode {
            return Ok(TargetingSettings { mode });
        }
        let previous = self.client_config_last_change().await?;
        // Strictly later: clients compare for equality, so two changes within one millisecond
        // must still give two values.
        let next = config_time(OffsetDateTime::now_utc()).max(previous + time::Duration::milliseconds(1));
        let next = format_config_time(next)?;
        self.store
            .set_settings(&[(MODE_SETTING, mode.as_str()), (CLIENT_CONFIG_CHANGE_SETTING, &next)])
            .await?;
        self.bump_version().await?;
        Ok(TargetingSettings { mode })
    }

    /// The client configuration's LastChange (GetConfig), created on first use. Whole
    /// milliseconds, as client cookies keep it.
    pub async fn client_config_last_change(&self) -> Result<OffsetDateTime, CatalogError> {
        if let Some(s) = self.store.get_setting(CLIENT_CONFIG_CHANGE_SETTING).await? {
            return OffsetDateTime::parse(s.trim(), &Rfc3339)
                .map(config_time)
                .map_err(|_| StoreError::Corrupt(format!("setting {CLIENT_CONFIG_CHANGE_SETTING}: {s:?}")).into());
        }
        let now = config_time(OffsetDateTime::now_utc());
        self.store.set_setting(CLIENT_CONFIG_CHANGE_SETTING, &format_config_time(now)?).await?;
        Ok(now)
    }

    /// Explicit memberships of every computer that has any, one query per group (groups are
    /// few, computers many).
    async fn memberships(&self, groups: &[ComputerGroup]) -> Result<HashMap<String, Vec<Uuid>>, CatalogError> {
        let mut map: HashMap<String, Vec<Uuid>> = HashMap::new();
        for g in groups {
            for c in self.store.list_computers(Some(g.id)).await? {
                map.entry(c.info.id).or_default().push(g.id);
            }
        }
        Ok(map)
    }

    fn group_view(
        g: &ComputerGroup,
        snapshot: &TargetingSnapshot,
        names: &HashMap<Uuid, &str>,
        computers: i64,
        approvals: i64,
    ) -> ComputerGroupView {
        let mut path: Vec<&str> = snapshot
            .ancestry(g.id)
            .iter()
            .map(|id| names.get(id).copied().unwrap_or("?"))
            .collect();
        path.reverse();
        ComputerGroupView {
            id: g.id.to_string(),
            name: g.name.clone(),
            parent_id: g.parent_id.map(|p| p.to_string()),
            parent: g.parent_id.and_then(|p| names.get(&p).map(|n| n.to_string())),
            path: path.join("/"),
            built_in: g.built_in,
            computers,
            approvals,
            created_at: format_utc(g.created_at),
        }
    }

    /// Every computer group in tree order, with its direct member and approval counts.
    pub async fn list_groups(&self) -> Result<Vec<ComputerGroupView>, CatalogError> {
        let groups = self.groups().await?;
        let snapshot = TargetingSnapshot::new(&groups, &[], []);
        let memberships = self.memberships(&groups).await?;
        let all_computers = self.store.list_computers(None).await?;
        let mut members: HashMap<Uuid, i64> = HashMap::new();
        for c in &all_computers {
            let explicit = memberships.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
            for g in snapshot.membership(explicit) {
                *members.entry(g).or_default() += 1;
            }
        }
        members.insert(ALL_COMPUTERS_GROUP, all_computers.len() as i64);
        let mut approvals: HashMap<Uuid, i64> = HashMap::new();
        for a in self.store.all_approvals().await? {
            *approvals.entry(a.group_id).or_default() += 1;
        }
        let names: HashMap<Uuid, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        let mut views: Vec<ComputerGroupView> = groups
            .iter()
            .map(|g| {
                Self::group_view(
                    g,
                    &snapshot,
                    &names,
                    members.get(&g.id).copied().unwrap_or(0),
                    approvals.get(&g.id).copied().unwrap_or(0),
                )
            })
            .collect();
        views.sort_by_cached_key(|v| v.path.to_lowercase());
        Ok(views)
    }

    /// Creates a computer group under `parent` ("All Computers" when none is given).
    pub async fn create_group(&self, req: &CreateGroupRequest) -> Result<ComputerGroupView, CatalogError> {
        self.refuse_on_replica().await?;
        let name = req.name.trim();
        check_group_name(name)?;
        // Clients list several target groups separated by ';' (client-side targeting).
        if name.contains(';') {
            return Err(invalid("a computer group name cannot contain ';'"));
        }
        if Uuid::parse_str(name).is_ok() {
            return Err(invalid("a computer group name cannot look like a group id"));
        }
        let groups = self.groups().await?;
        if let Some(taken) = groups.iter().find(|g| name_key(&g.name) == name_key(name)) {
            return Err(conflict(format!(
                "a computer group named '{}' already exists",
                taken.name
            )));
        }
        let parent = match req.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => ALL_COMPUTERS_GROUP,
            Some(p) => Self::find_group(&groups, p)?.id,
        };
        if parent == UNASSIGNED_COMPUTERS_GROUP {
            return Err(invalid("'Unassigned Computers' cannot have child groups"));
        }
        let created = self.store.create_group(name, Some(parent)).await?;
        self.bump_version().await?;
        let mut all = groups;
        all.push(created.clone());
        let snapshot = TargetingSnapshot::new(&all, &[], []);
        let names: HashMap<Uuid, &str> = all.iter().map(|g| (g.id, g.name.as_str())).collect();
        Ok(Self::group_view(&created, &snapshot, &names, 0, 0))
    }

    /// Deletes a computer group (with its approvals). Built-in groups and groups with child
    /// groups are refused; members left without any group move to "Unassigned Computers".
    pub async fn delete_group(&self, name_or_id: &str) -> Result<DeletedGroup, CatalogError> {
        self.refuse_on_replica().await?;
        let groups = self.groups().await?;
        let group = Self::find_group(&groups, name_or_id)?.clone();
        if group.built_in {
            return Err(conflict(format!(
                "'{}' is a built-in group and cannot be deleted",
                group.name
            )));
        }
        let children: Vec<&str> = groups
            .iter()
            .filter(|g| g.parent_id == Some(group.id))
            .map(|g| g.name.as_str())
            .collect();
        if !children.is_empty() {
            return Err(conflict(format!(
                "'{}' has child groups ({}); delete them first",
                group.name,
                children.join(", ")
            )));
        }
        let members = self.store.list_computers(Some(group.id)).await?;
        let removed_approvals = self.store.approvals_for_group(group.id).await?.len();
        self.store.delete_group(group.id).await?;
        let mut moved = Vec::new();
        for c in &members {
            // A computer with no group is treated as unassigned anyway; recording it makes the
            // membership visible to anything reading the table directly.
            if self.store.computer_groups(&c.info.id).await?.is_empty() {
                match self
                    .store
                    .set_computer_groups(&c.info.id, &[UNASSIGNED_COMPUTERS_GROUP])
                    .await
                {
                    Ok(()) => moved.push(c.info.id.clone()),
                    // Deleted meanwhile: nothing to move.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.bump_version().await?;
        Ok(DeletedGroup {
            id: group.id.to_string(),
            name: group.name,
            moved_to_unassigned: moved,
            removed_approvals,
        })
    }

    fn computer_view(c: &Computer, membership: &[Uuid], names: &HashMap<Uuid, String>) -> ComputerView {
        ComputerView {
            id: c.info.id.clone(),
            dns_name: c.info.dns_name.clone(),
            ip_address: c.info.ip_address.clone(),
            os_description: c.info.os_description.clone(),
            os_version: os_version(c),
            client_version: c.info.client_version.clone(),
            groups: membership
                .iter()
                .map(|g| names.get(g).cloned().unwrap_or_else(|| g.to_string()))
                .collect(),
            last_sync_time: c.last_sync_time.map(format_utc),
            last_reported_status_time: c.last_reported_status_time.map(format_utc),
            registered_at: format_utc(c.registered_at),
        }
    }

    /// Computers with their groups; with `group`, only its direct members ("All Computers":
    /// everyone; "Unassigned Computers": those without another group).
    pub async fn list_computers(&self, group: Option<&str>) -> Result<Vec<ComputerView>, CatalogError> {
        let groups = self.groups().await?;
        let filter = group.map(|g| Self::find_group(&groups, g).map(|g| g.id)).transpose()?;
        let snapshot = TargetingSnapshot::new(&groups, &[], []);
        let memberships = self.memberships(&groups).await?;
        let names: HashMap<Uuid, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        let mut out = Vec::new();
        for c in self.store.list_computers(None).await? {
            let explicit = memberships.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
            let membership = snapshot.membership(explicit);
            if filter.is_none_or(|g| snapshot.is_member(&membership, g)) {
                out.push(Self::computer_view(&c, &membership, &names));
            }
        }
        Ok(out)
    }

    /// One computer: its description, groups, effective approvals and reported states.
    pub async fn computer_detail(&self, computer_id: &str) -> Result<ComputerDetail, CatalogError> {
        let id = computer_id.trim();
        let c = self
            .store
            .get_computer(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("computer '{id}'")))?;
        let snapshot = self.targeting_snapshot().await?;
        let groups = self.groups().await?;
        let names: HashMap<Uuid, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        let explicit: Vec<Uuid> = self.store.computer_groups(id).await?.iter().map(|g| g.id).collect();
        let membership = snapshot.membership(&explicit);
        let mut titles = TitleCache::default();
        let mut approvals = Vec::new();
        let effective: BTreeMap<Uuid, EffectiveApproval> =
            snapshot.effective_for_groups(&membership).into_iter().collect();
        for (update, e) in effective {
            approvals.push(EffectiveApprovalView {
                update_id: update.to_string(),
                title: titles.get(self, update).await?,
                action: e.action.as_str().to_string(),
                deadline: e.deadline.map(format_utc),
                group: names
                    .get(&e.approval_group)
                    .cloned()
                    .unwrap_or_else(|| e.approval_group.to_string()),
                last_change: format_utc(e.last_change),
            });
        }
        let rows = self.store.status_for_computer(id).await?;
        let mut counts = StatusCounts::default();
        let mut status = Vec::with_capacity(rows.len());
        for r in &rows {
            counts.add(r.state);
            status.push(ComputerUpdateStatus {
                update_id: r.update_id.to_string(),
                title: titles.get(self, r.update_id).await?,
                revision_number: r.revision_number,
                state: r.state.as_str().to_string(),
                last_event_time: format_utc(r.last_event_time),
            });
        }
        let i = &c.info;
        Ok(ComputerDetail {
            computer: Self::computer_view(&c, &membership, &names),
            os_service_pack: i.os_service_pack.clone(),
            locale: i.locale.clone(),
            manufacturer: i.manufacturer.clone(),
            model: i.model.clone(),
            bios_name: i.bios_name.clone(),
            bios_version: i.bios_version.clone(),
            approvals,
            status,
            counts,
        })
    }

    /// Sets a computer's groups (server-side targeting). No group means "Unassigned
    /// Computers"; "All Computers" cannot be chosen (everyone is in it).
    pub async fn move_computer(&self, computer_id: &str, to: &[String]) -> Result<ComputerView, CatalogError> {
        let id = computer_id.trim();
        if self.targeting_mode().await? == TargetingMode::Client {
            return Err(conflict(
                "targeting mode is 'client': computers choose their groups through the TargetGroup policy \
                 (switch with 'sluice targeting set server')",
            ));
        }
        let c = self
            .store
            .get_computer(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("computer '{id}'")))?;
        let groups = self.groups().await?;
        let mut ids = Vec::new();
        for name in to {
            let g = Self::find_group(&groups, name)?;
            if g.id == ALL_COMPUTERS_GROUP {
                return Err(invalid("every computer is in 'All Computers'; choose another group"));
            }
            ids.push(g.id);
        }
        ids.sort();
        ids.dedup();
        if ids.len() > 1 && ids.contains(&UNASSIGNED_COMPUTERS_GROUP) {
            return Err(invalid(
                "'Unassigned Computers' holds only computers that have no other group",
            ));
        }
        if ids.is_empty() {
            ids.push(UNASSIGNED_COMPUTERS_GROUP);
        }
        self.store.set_computer_groups(id, &ids).await?;
        let snapshot = TargetingSnapshot::new(&groups, &[], []);
        let names: HashMap<Uuid, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        Ok(Self::computer_view(&c, &snapshot.membership(&ids), &names))
    }

    /// Approves an update for a group (or replaces the group's approval). `by` is recorded as
    /// the approver and, with `accept_license`, as the one who accepted the license terms.
    pub async fn approve(&self, req: &ApprovalRequest, by: &str) -> Result<ApprovalView, CatalogError> {
        self.refuse_on_replica().await?;
        let rev = self.approvable_revision(&req.update).await?;
        let update = rev.update_id;
        let action = match req.action.as_deref() {
            None => ApprovalAction::Install,
            Some(a) => parse_action(a)?,
        };
        let deadline = req
            .deadline
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(parse_rfc3339_utc)
            .transpose()?;
        if deadline.is_some() && action == ApprovalAction::NotApproved {
            return Err(invalid("a deadline applies only to install and uninstall approvals"));
        }
        let groups = self.groups().await?;
        let group = Self::find_group(&groups, &req.group)?.clone();
        if self.store.is_declined(update).await? {
            return Err(conflict(format!(
                "update {update} is declined; un-decline it first ('sluice undecline {update}')"
            )));
        }
        if action != ApprovalAction::NotApproved {
            if !rev.explicitly_deployable {
                return Err(invalid(format!(
                    "update {update} ('{}') is delivered only inside a bundle and cannot be approved on its own; \
                     approve the bundle that contains it",
                    rev.title
                )));
            }
            if rev.publication_state.eq_ignore_ascii_case("Expired") {
                return Err(invalid(format!(
                    "update {update} has expired and can no longer be approved"
                )));
            }
        }
        let details = self.license_and_behaviour(&rev).await?;
        if deadline.is_some() && action == ApprovalAction::Install && details.needs_user_input {
            return Err(invalid(format!(
                "update {update} may ask for user input while installing, so it cannot have a deadline"
            )));
        }
        let mut license_accepted_by = None;
        if action == ApprovalAction::Install
            && let Some(eula) = details.eula
        {
            match self.store.eula_acceptance(eula).await? {
                Some(a) => license_accepted_by = Some((a.accepted_by, a.accepted_at)),
                None if req.accept_license => {
                    self.store.accept_eula(eula, by).await?;
                    // Read back: a concurrent acceptance may have been first, and it is kept.
                    if let Some(a) = self.store.eula_acceptance(eula).await? {
                        license_accepted_by = Some((a.accepted_by, a.accepted_at));
                    }
                }
                None => {
                    let files = if details.eula_files.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", details.eula_files.join(", "))
                    };
                    return Err(conflict(format!(
                        "update {update} carries license terms{files} that have not been accepted; \
                         review them and approve again with --accept-license (API: \"accept_license\": true)"
                    )));
                }
            }
        }
        let approval = self.store.set_approval(update, group.id, action, deadline, by).await?;
        self.bump_version().await?;
        let mut view = approval_view(&approval, &rev.title, &group.name);
        view.license_accepted_by = license_accepted_by.as_ref().map(|(who, _)| who.clone());
        view.license_accepted_at = license_accepted_by.map(|(_, at)| format_utc(at));
        Ok(view)
    }

    /// Removes a group's own approval of an update (the group inherits again).
    pub async fn remove_approval(&self, update: &str, group: &str) -> Result<ApprovalView, CatalogError> {
        self.refuse_on_replica().await?;
        let update_id = parse_update_id(update)?;
        let groups = self.groups().await?;
        let g = Self::find_group(&groups, group)?;
        let existing = self
            .store
            .approvals_for_update(update_id)
            .await?
            .into_iter()
            .find(|a| a.group_id == g.id)
            .ok_or_else(|| CatalogError::NotFound(format!("approval of update {update_id} for '{}'", g.name)))?;
        if !self.store.remove_approval(update_id, g.id).await? {
            return Err(CatalogError::NotFound(format!(
                "approval of update {update_id} for '{}'",
                g.name
            )));
        }
        self.bump_version().await?;
        let title = TitleCache::default().get(self, update_id).await?;
        Ok(approval_view(&existing, &title, &g.name))
    }

    /// Approvals, of one update and/or for one group, or all of them.
    pub async fn list_approvals(&self, q: &ApprovalQuery) -> Result<Vec<ApprovalView>, CatalogError> {
        let groups = self.groups().await?;
        let group = match q.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => Some(Self::find_group(&groups, g)?.id),
            None => None,
        };
        let update = q
            .update
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(parse_update_id)
            .transpose()?;
        let rows = match (update, group) {
            (Some(u), g) => {
                let mut r = self.store.approvals_for_update(u).await?;
                r.retain(|a| g.is_none_or(|g| a.group_id == g));
                r
            }
            (None, Some(g)) => self.store.approvals_for_group(g).await?,
            (None, None) => self.store.all_approvals().await?,
        };
        let names: HashMap<Uuid, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        let mut titles = TitleCache::default();
        let mut out = Vec::with_capacity(rows.len());
        for a in &rows {
            let title = titles.get(self, a.update_id).await?;
            out.push(approval_view(a, &title, names.get(&a.group_id).copied().unwrap_or("?")));
        }
        Ok(out)
    }

    /// Declines an update: it disappears from every computer's view and loses its approvals.
    /// Declining a declined update changes nothing.
    pub async fn decline(&self, update: &str, by: &str) -> Result<DeclineView, CatalogError> {
        self.refuse_on_replica().await?;
        let rev = self.approvable_revision(update).await?;
        let id = rev.update_id;
        // Decline first: from this point a concurrent approve is refused, so no approval can
        // slip in after the removal below.
        let changed = self.store.decline(id, by).await?;
        let groups = self.groups().await?;
        let names: HashMap<Uuid, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        let mut removed = Vec::new();
        for a in self.store.approvals_for_update(id).await? {
            if self.store.remove_approval(id, a.group_id).await? {
                removed.push(
                    names
                        .get(&a.group_id)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| a.group_id.to_string()),
                );
            }
        }
        if changed || !removed.is_empty() {
            self.bump_version().await?;
        }
        let record = self
            .store
            .list_declined()
            .await?
            .into_iter()
            .find(|d| d.update_id == id);
        Ok(DeclineView {
            update_id: id.to_string(),
            title: rev.title,
            declined: true,
            changed,
            declined_by: record.as_ref().map(|d| d.declined_by.clone()),
            declined_at: record.map(|d| format_utc(d.declined_at)),
            removed_approvals: removed,
        })
    }

    /// Takes a decline back; the update is then not approved anywhere until approved again.
    pub async fn undecline(&self, update: &str) -> Result<DeclineView, CatalogError> {
        self.refuse_on_replica().await?;
        let rev = self.approvable_revision(update).await?;
        let changed = self.store.undecline(rev.update_id).await?;
        if changed {
            self.bump_version().await?;
        }
        Ok(DeclineView {
            update_id: rev.update_id.to_string(),
            title: rev.title,
            declined: false,
            changed,
            declined_by: None,
            declined_at: None,
            removed_approvals: Vec::new(),
        })
    }

    /// Reported update states, counted per update and per computer, narrowed to one update,
    /// one computer and/or the direct members of one group.
    pub async fn status(&self, q: &StatusQuery) -> Result<StatusReport, CatalogError> {
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (update_q, computer_q, group_q) = (nonempty(&q.update), nonempty(&q.computer), nonempty(&q.group));
        let mut titles = TitleCache::default();
        let update = match &update_q {
            Some(u) => {
                let id = parse_update_id(u)?;
                if self.store.latest_revision(id).await?.is_none() {
                    return Err(CatalogError::NotFound(format!("update {id}")));
                }
                Some(id)
            }
            None => None,
        };
        let groups = self.groups().await?;
        let group = group_q.as_deref().map(|g| Self::find_group(&groups, g)).transpose()?;
        let snapshot = TargetingSnapshot::new(&groups, &[], []);
        let memberships = self.memberships(&groups).await?;
        let computers: Vec<Computer> = match &computer_q {
            Some(c) => vec![
                self.store
                    .get_computer(c)
                    .await?
                    .ok_or_else(|| CatalogError::NotFound(format!("computer '{c}'")))?,
            ],
            None => self.store.list_computers(None).await?,
        };
        let computers: Vec<Computer> = computers
            .into_iter()
            .filter(|c| {
                group.is_none_or(|g| {
                    let explicit = memberships.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
                    snapshot.is_member(&snapshot.membership(explicit), g.id)
                })
            })
            .collect();
        let in_scope: HashSet<&str> = computers.iter().map(|c| c.info.id.as_str()).collect();

        let rows: Vec<UpdateStatus> = match (update, computers.len()) {
            (Some(u), n) if n != 1 => {
                let mut r = self.store.status_for_update(u).await?;
                r.retain(|s| in_scope.contains(s.computer_id.as_str()));
                r
            }
            _ => {
                let mut r = Vec::new();
                for c in &computers {
                    let mut rows = self.store.status_for_computer(&c.info.id).await?;
                    rows.retain(|s| update.is_none_or(|u| s.update_id == u));
                    r.extend(rows);
                }
                r
            }
        };

        let mut per_update: BTreeMap<Uuid, StatusCounts> = BTreeMap::new();
        let mut per_computer: HashMap<&str, StatusCounts> = HashMap::new();
        if let Some(u) = update {
            per_update.entry(u).or_default();
        }
        for r in &rows {
            per_update.entry(r.update_id).or_default().add(r.state);
            per_computer.entry(r.computer_id.as_str()).or_default().add(r.state);
        }
        let mut updates = Vec::with_capacity(per_update.len());
        for (u, counts) in per_update {
            updates.push(UpdateStatusRow {
                update_id: u.to_string(),
                title: titles.get(self, u).await?,
                no_status: computers.len() as i64 - counts.total,
                counts,
            });
        }
        let computer_rows = computers
            .iter()
            .map(|c| ComputerStatusRow {
                computer_id: c.info.id.clone(),
                dns_name: c.info.dns_name.clone(),
                last_reported_status_time: c.last_reported_status_time.map(format_utc),
                counts: per_computer.get(c.info.id.as_str()).copied().unwrap_or_default(),
            })
            .collect();
        let mut entries = Vec::new();
        // Single rows only when the scope is one update or one computer, so the answer stays
        // bounded by the number of computers or updates.
        if update.is_some() || computer_q.is_some() {
            for r in &rows {
                entries.push(crate::api::StatusEntry {
                    computer_id: r.computer_id.clone(),
                    update_id: r.update_id.to_string(),
                    title: titles.get(self, r.update_id).await?,
                    revision_number: r.revision_number,
                    state: r.state.as_str().to_string(),
                    last_event_time: format_utc(r.last_event_time),
                });
            }
        }
        Ok(StatusReport {
            update: update.map(|u| u.to_string()),
            computer: computer_q,
            group: group.map(|g| g.name.clone()),
            computers_in_scope: computers.len() as i64,
            updates,
            computers: computer_rows,
            entries,
        })
    }
}

fn approval_view(a: &Approval, title: &str, group: &str) -> ApprovalView {
    ApprovalView {
        update_id: a.update_id.to_string(),
        title: title.to_string(),
        group_id: a.group_id.to_string(),
        group: group.to_string(),
        action: a.action.as_str().to_string(),
        deadline: a.deadline.map(format_utc),
        approved_by: a.approved_by.clone(),
        approved_at: format_utc(a.approved_at),
        license_accepted_by: None,
        license_accepted_at: None,
    }
}

/// Update titles looked up once per request.
#[derive(Default)]
struct TitleCache(HashMap<Uuid, String>);

impl TitleCache {
    async fn get(&mut self, catalog: &Catalog, id: Uuid) -> Result<String, CatalogError> {
        if let Some(t) = self.0.get(&id) {
            return Ok(t.clone());
        }
        // Status can name updates this catalog does not hold (yet): show them untitled.
        let title = catalog
            .store
            .latest_revision(id)
            .await?
            .map(|r| r.title)
            .unwrap_or_default();
        self.0.insert(id, title.clone());
        Ok(title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_store::{InstallState, NewComputer, Store};
    use std::sync::Arc;

    // A tree shaped like a small organisation:
    //   All Computers ── Unassigned Computers
    //                 ├─ Servers ── Web ── Frontend
    //                 │          └─ Db
    //                 ├─ Workstations ── Pilot
    //                 └─ Orphan (stored without a parent)
    const SERVERS: Uuid = Uuid::from_u128(0x10);
    const WEB: Uuid = Uuid::from_u128(0x11);
    const FRONTEND: Uuid = Uuid::from_u128(0x12);
    const DB: Uuid = Uuid::from_u128(0x13);
    const WORKSTATIONS: Uuid = Uuid::from_u128(0x20);
    const PILOT: Uuid = Uuid::from_u128(0x21);
    const ORPHAN: Uuid = Uuid::from_u128(0x30);
    const ALL: Uuid = ALL_COMPUTERS_GROUP;
    const UNASSIGNED: Uuid = UNASSIGNED_COMPUTERS_GROUP;

    const U1: Uuid = Uuid::from_u128(0xa1);
    const U2: Uuid = Uuid::from_u128(0xa2);

    use ApprovalAction::{Install, NotApproved, Uninstall};

    fn t(s: &str) -> OffsetDateTime {
        parse_rfc3339_utc(s).unwrap()
    }

    fn tree() -> Vec<ComputerGroup> {
        let g = |id, name: &str, parent: Option<Uuid>| ComputerGroup {
            id,
            name: name.into(),
            parent_id: parent,
            built_in: id == ALL || id == UNASSIGNED,
            created_at: t("2026-01-01T00:00:00Z"),
        };
        vec![
            g(ALL, "All Computers", None),
            g(UNASSIGNED, "Unassigned Computers", Some(ALL)),
            g(SERVERS, "Servers", Some(ALL)),
            g(WEB, "Web", Some(SERVERS)),
            g(FRONTEND, "Frontend", Some(WEB)),
            g(DB, "Db", Some(SERVERS)),
            g(WORKSTATIONS, "Workstations", Some(ALL)),
            g(PILOT, "Pilot", Some(WORKSTATIONS)),
            g(ORPHAN, "Orphan", None),
        ]
    }

    /// (update, group, action, deadline, approved_at)
    type Row = (Uuid, Uuid, ApprovalAction, Option<&'static str>, &'static str);

    fn snapshot(rows: &[Row], declined: &[Uuid]) -> TargetingSnapshot {
        let approvals: Vec<Approval> = rows
            .iter()
            .map(|(u, g, a, d, at)| Approval {
                update_id: *u,
                group_id: *g,
                action: *a,
                deadline: d.map(t),
                approved_by: "admin".into(),
                approved_at: t(at),
            })
            .collect();
        TargetingSnapshot::new(&tree(), &approvals, declined.iter().copied())
    }

    const T1: &str = "2026-02-01T00:00:00Z";
    const T2: &str = "2026-02-02T00:00:00Z";
    const T3: &str = "2026-02-03T00:00:00Z";
    const D1: &str = "2026-03-01T08:00:00Z";
    const D2: &str = "2026-03-02T08:00:00Z";

    struct Case {
        name: &'static str,
        approvals: Vec<Row>,
        declined: Vec<Uuid>,
        computer: Vec<Uuid>,
        /// Expected effective approval of U1: (action, winning group, deadline).
        expect: Option<(ApprovalAction, Uuid, Option<&'static str>)>,
    }

    #[test]
    fn effective_approval_table() {
        let cases = vec![
            Case {
                name: "no approval anywhere",
                approvals: vec![],
                declined: vec![],
                computer: vec![WEB],
                expect: None,
            },
            Case {
                name: "All Computers reaches a deep group",
                approvals: vec![(U1, ALL, Install, None, T1)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "All Computers reaches a computer without groups (Unassigned)",
                approvals: vec![(U1, ALL, Install, Some(D1), T1)],
                declined: vec![],
                computer: vec![],
                expect: Some((Install, ALL, Some(D1))),
            },
            Case {
                name: "a parent's approval applies to its children",
                approvals: vec![(U1, SERVERS, Install, None, T1)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Install, SERVERS, None)),
            },
            Case {
                name: "a sibling branch does not inherit",
                approvals: vec![(U1, SERVERS, Install, None, T1)],
                declined: vec![],
                computer: vec![PILOT],
                expect: None,
            },
            Case {
                name: "the nearest approval overrides an ancestor's",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, Uninstall, None, T2)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Uninstall, WEB, None)),
            },
            Case {
                name: "an explicit Not Approved blocks inheritance",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((NotApproved, WEB, None)),
            },
            Case {
                name: "a block on one branch leaves the other branch approved",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![DB],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "implicit All Computers does not compete with a blocking group",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, UNASSIGNED, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![],
                expect: Some((NotApproved, UNASSIGNED, None)),
            },
            Case {
                name: "conflict between groups: install beats uninstall",
                approvals: vec![(U1, WEB, Uninstall, Some(D1), T1), (U1, PILOT, Install, None, T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, None)),
            },
            Case {
                name: "conflict between groups: uninstall beats not approved",
                approvals: vec![(U1, WEB, NotApproved, None, T1), (U1, PILOT, Uninstall, None, T2)],
                declined: vec![],
                computer: vec![PILOT, WEB],
                expect: Some((Uninstall, PILOT, None)),
            },
            Case {
                name: "an inherited install beats another group's explicit block",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![WEB, DB],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "same action: the earliest deadline applies",
                approvals: vec![(U1, WEB, Install, Some(D2), T1), (U1, PILOT, Install, Some(D1), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D1))),
            },
            Case {
                name: "same action: a deadline beats none",
                approvals: vec![(U1, WEB, Install, None, T1), (U1, PILOT, Install, Some(D2), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D2))),
            },
            Case {
                name: "a losing action's deadline does not apply",
                approvals: vec![(U1, WEB, Uninstall, Some(D1), T1), (U1, PILOT, Install, Some(D2), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D2))),
            },
            Case {
                name: "a deadline on Not Approved means nothing",
                approvals: vec![(U1, WEB, NotApproved, Some(D1), T1)],
                declined: vec![],
                computer: vec![WEB],
                expect: Some((NotApproved, WEB, None)),
            },
            Case {
                name: "declined updates have no effective approval",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, Install, Some(D1), T2)],
                declined: vec![U1],
                computer: vec![WEB],
                expect: None,
            },
            Case {
                name: "explicit membership of All Computers alone means Unassigned",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![ALL],
                expect: Some((Install, UNASSIGNED, None)),
            },
            Case {
                name: "a computer with groups is not in Unassigned",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![UNASSIGNED, DB],
                expect: None,
            },
            Case {
                name: "unknown groups are ignored (the computer counts as unassigned)",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![Uuid::from_u128(0xdead)],
                expect: Some((Install, UNASSIGNED, None)),
            },
            Case {
                name: "a group stored without a parent still inherits from All Computers",
                approvals: vec![(U1, ALL, Uninstall, None, T1)],
                declined: vec![],
                computer: vec![ORPHAN],
                expect: Some((Uninstall, ALL, None)),
            },
        ];
        for c in cases {
            let s = snapshot(&c.approvals, &c.declined);
            let all = s.effective_for_groups(&c.computer);
            let got = all.get(&U1).map(|e| (e.action, e.approval_group, e.deadline));
            let want = c.expect.map(|(a, g, d)| (a, g, d.map(t)));
            assert_eq!(got, want, "{}", c.name);
            // The single-update query agrees, and the group order never matters.
            assert_eq!(
                s.effective_for_update(U1, &c.computer),
                all.get(&U1).copied(),
                "{}: single",
                c.name
            );
            let mut reversed = c.computer.clone();
            reversed.reverse();
            assert_eq!(s.effective_for_groups(&reversed), all, "{}: order", c.name);
        }
    }

    #[test]
    fn updates_resolve_independently_and_last_change_covers_every_weighed_approval() {
        let s = snapshot(
            &[
                (U1, ALL, Install, None, T1),
                (U1, PILOT, Uninstall, None, T3),
                (U2, WEB, NotApproved, None, T2),
                (U2, SERVERS, Install, Some(D1), T1),
            ],
            &[],
        );
        let e = s.effective_for_groups(&[FRONTEND, PILOT]);
        assert_eq!(e.len(), 2);
        // U1: Frontend inherits Install from All; Pilot has its own Uninstall; Install wins,
        // and the newer (losing) Pilot approval still dates the result.
        assert_eq!(e[&U1].action, Install);
        assert_eq!(e[&U1].approval_group, ALL);
        assert_eq!(e[&U1].last_change, t(T3));
        // U2: Web's block shadows Servers for Frontend; Pilot has nothing.
        assert_eq!(e[&U2].action, NotApproved);
        assert_eq!(e[&U2].last_change, t(T2));
        assert_eq!(s.effective_for_groups(&[DB])[&U2].deadline, Some(t(D1)));
    }

    #[test]
    fn membership_is_canonical() {
        let s = snapshot(&[], &[]);
        assert_eq!(s.membership(&[]), vec![UNASSIGNED]);
        assert_eq!(s.membership(&[ALL]), vec![UNASSIGNED]);
        assert_eq!(s.membership(&[PILOT, WEB, PILOT, UNASSIGNED]), vec![WEB, PILOT]);
        assert!(s.is_member(&[WEB], ALL));
        assert!(!s.is_member(&[WEB], SERVERS), "membership is direct");
        assert_eq!(s.ancestry(FRONTEND), vec![FRONTEND, WEB, SERVERS, ALL]);
        assert_eq!(s.ancestry(ORPHAN), vec![ORPHAN, ALL]);
        assert!(s.ancestry(Uuid::from_u128(0xdead)).is_empty());
    }

    #[test]
    fn groups_of_follows_the_targeting_mode() {
        let s = snapshot(&[], &[]);
        assert_eq!(s.groups_of(TargetingMode::Server, &[DB], Some("Pilot")), vec![DB]);
        assert_eq!(s.groups_of(TargetingMode::Server, &[], None), vec![UNASSIGNED]);
        assert_eq!(
            s.groups_of(TargetingMode::Client, &[DB], Some(" pilot ;WEB; nosuch;")),
            vec![WEB, PILOT]
        );
        assert_eq!(
            s.groups_of(TargetingMode::Client, &[DB], Some("nosuch")),
            vec![UNASSIGNED]
        );
        assert_eq!(s.groups_of(TargetingMode::Client, &[DB], None), vec![UNASSIGNED]);
        assert_eq!(s.group_by_name("frontend"), Some(FRONTEND));
    }

    #[test]
    fn actions_deadlines_and_modes_parse() {
        assert_eq!(parse_action("not-approved").unwrap(), NotApproved);
        assert_eq!(parse_action("Not_Approved").unwrap(), NotApproved);
        assert_eq!(parse_action("INSTALL").unwrap(), Install);
        assert!(parse_action("approve").is_err());
        assert_eq!(
            format_utc(parse_rfc3339_utc("2026-05-01T20:00:00+02:00").unwrap()),
            "2026-05-01T18:00:00Z"
        );
        assert!(parse_rfc3339_utc("2026-05-01").is_err());
        assert_eq!(TargetingMode::parse("Client"), Some(TargetingMode::Client));
        assert_eq!(TargetingMode::parse("both"), None);
    }

    #[test]
    fn eula_keys_are_stable() {
        let id = "0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30";
        assert_eq!(
            eula_key(Some(id), &[[7; 20]]).unwrap(),
            Some(Uuid::parse_str(id).unwrap())
        );
        let a = eula_key(None, &[[9; 20], [3; 20]]).unwrap();
        assert_eq!(
            a,
            eula_key(None, &[[3; 20], [9; 20]]).unwrap(),
            "language order does not matter"
        );
        assert_ne!(a, eula_key(None, &[[4; 20]]).unwrap());
        assert_eq!(eula_key(None, &[]).unwrap(), None);
        assert!(eula_key(Some("not-a-guid"), &[]).is_err());
    }

    // ---------------------------------------------------------------- service, on SQLite

    struct Doc {
        id: Uuid,
        kind: &'static str,
        deployable: bool,
        extra_props: &'static str,
        extra_localized: &'static str,
    }

    impl Doc {
        fn software(id: Uuid) -> Doc {
            Doc {
                id,
                kind: "Software",
                deployable: true,
                extra_props: "",
                extra_localized: "",
            }
        }

        fn xml(&self) -> (String, Vec<u8>) {
            let xml = format!(
                r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{}" RevisionNumber="100" /><upd:Properties UpdateType="{}" ExplicitlyDeployable="{}" PublicationState="Published" CreationDate="2026-01-01T00:00:00Z"{}></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Test {}</upd:Title></upd:LocalizedProperties>{}</upd:LocalizedPropertiesCollection></upd:Update>"#,
                self.id, self.kind, self.deployable, self.extra_props, self.id, self.extra_localized
            );
            (format!("{}.xml", self.id), xml.into_bytes())
        }
    }

    const EULA_FILE: &str = r#"<upd:EulaFile Language="en"><upd:File FileName="eula-en.txt" Digest="AAECAwQFBgcICQoLDA0ODxAREhM=" Size="2048" /></upd:EulaFile>"#;

    async fn catalog(docs: &[Doc]) -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("sqlite::memory:").await.unwrap();
        let content = Arc::new(
            sluice_content::ContentStore::open(dir.path().join("content"))
                .await
                .unwrap(),
        );
        let c = Catalog::new(store, content);
        if !docs.is_empty() {
            c.import_documents(docs.iter().map(Doc::xml).collect()).await.unwrap();
        }
        (c, dir)
    }

    fn req(update: Uuid, group: &str) -> ApprovalRequest {
        ApprovalRequest {
            update: update.to_string(),
            group: group.into(),
            ..ApprovalRequest::default()
        }
    }

    fn is_conflict(e: &CatalogError) -> bool {
        matches!(e, CatalogError::Store(s) if s.is_conflict())
    }

    #[tokio::test]
    async fn group_lifecycle() {
        let (c, _dir) = catalog(&[]).await;
        let v0 = c.approvals_version().await.unwrap();
        let servers = c
            .create_group(&CreateGroupRequest {
                name: "Servers".into(),
                parent: None,
            })
            .await
            .unwrap();
        assert_eq!(
            servers.parent.as_deref(),
            Some("All Computers"),
            "top-level groups hang under All Computers"
        );
        assert_ne!(
            c.approvals_version().await.unwrap(),
            v0,
            "a new group changes what targeting sees"
        );
        let web = c
            .create_group(&CreateGroupRequest {
                name: "Web".into(),
                parent: Some("servers".into()),
            })
            .await
            .unwrap();
        assert_eq!(web.path, "All Computers/Servers/Web");

        let dup = c
            .create_group(&CreateGroupRequest {
                name: "WEB".into(),
                parent: None,
            })
            .await
            .unwrap_err();
        assert!(is_conflict(&dup) && dup.to_string().contains("already exists"), "{dup}");
        let dup = c
            .create_group(&CreateGroupRequest {
                name: "ÉTÉ".into(),
                parent: None,
            })
            .await;
        assert!(dup.is_ok());
        let dup = c
            .create_group(&CreateGroupRequest {
                name: "été".into(),
                parent: None,
            })
            .await
            .unwrap_err();
        assert!(
            is_conflict(&dup),
            "non-ASCII names are unique case-insensitively too: {dup}"
        );
        for bad in ["", "  ", "a;b"] {
            let e = c
                .create_group(&CreateGroupRequest {
                    name: bad.into(),
                    parent: None,
                })
                .await
                .unwrap_err();
            assert!(matches!(e, CatalogError::InvalidRequest(_)), "{bad:?}: {e}");
        }
        let e = c
            .create_group(&CreateGroupRequest {
                name: "X".into(),
                parent: Some("Unassigned Computers".into()),
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CatalogError::InvalidRequest(_)), "{e}");
        let e = c
            .create_group(&CreateGroupRequest {
                name: "X".into(),
                parent: Some("nosuch".into()),
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");

        for builtin in ["All Computers", "unassigned computers"] {
            let e = c.delete_group(builtin).await.unwrap_err();
            assert!(is_conflict(&e) && e.to_string().contains("built-in"), "{e}");
        }
        let e = c.delete_group("Servers").await.unwrap_err();
        assert!(is_conflict(&e) && e.to_string().contains("Web"), "{e}");

        // Members: one only in Web (moves to Unassigned), one also in Servers (stays there).
        for id in ["pc-1", "pc-2"] {
            c.store()
                .upsert_computer(&NewComputer {
                    id: id.into(),
                    ..NewComputer::default()
                })
                .await
                .unwrap();
        }
        c.move_computer("pc-1", &["Web".into()]).await.unwrap();
        c.move_computer("pc-2", &["Web".into(), "Servers".into()])
            .await
            .unwrap();
        let listed = c.list_groups().await.unwrap();
        let count = |name: &str| listed.iter().find(|g| g.name == name).unwrap().computers;
        assert_eq!(
            (
                count("All Computers"),
                count("Web"),
                count("Servers"),
                count("Unassigned Computers")
            ),
            (2, 2, 1, 0)
        );

        let deleted = c.delete_group(&web.id).await.unwrap();
        assert_eq!(deleted.moved_to_unassigned, vec!["pc-1".to_string()]);
        let unassigned = c.list_computers(Some("Unassigned Computers")).await.unwrap();
        assert_eq!(
            unassigned.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            vec!["pc-1"]
        );
        assert_eq!(c.list_computers(Some("Servers")).await.unwrap()[0].id, "pc-2");
        assert_eq!(c.list_computers(Some("All Computers")).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn approvals_declines_and_their_refusals() {
        let plain = Uuid::from_u128(0x100);
        let category = Uuid::from_u128(0x101);
        let bundled = Uuid::from_u128(0x102);
        let (c, _dir) = catalog(&[
            Doc::software(plain),
            Doc {
                kind: "Category",
                ..Doc::software(category)
            },
            Doc {
                deployable: false,
                ..Doc::software(bundled)
            },
        ])
        .await;
        c.create_group(&CreateGroupRequest {
            name: "Pilot".into(),
            parent: None,
        })
        .await
        .unwrap();

        let missing = c
            .approve(&req(Uuid::from_u128(0x999), "Pilot"), "alice")
            .await
            .unwrap_err();
        assert!(matches!(missing, CatalogError::NotFound(_)), "{missing}");
        let e = c.approve(&req(category, "Pilot"), "alice").await.unwrap_err();
        assert!(
            matches!(e, CatalogError::InvalidRequest(_)) && e.to_string().contains("category"),
            "{e}"
        );
        let e = c.approve(&req(bundled, "Pilot"), "alice").await.unwrap_err();
        assert!(e.to_string().contains("bundle"), "{e}");
        let e = c.approve(&req(plain, "nosuch"), "alice").await.unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");
        let e = c
            .approve(
                &ApprovalRequest {
                    action: Some("not-approved".into()),
                    deadline: Some(D1.into()),
                    ..req(plain, "Pilot")
                },
                "alice",
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("deadline"), "{e}");

        let v1 = c.approvals_version().await.unwrap();
        let a = c
            .approve(
                &ApprovalRequest {
                    deadline: Some("2026-03-01T10:00:00+02:00".into()),
                    ..req(plain, "pilot")
                },
                "alice",
            )
            .await
            .unwrap();
        assert_eq!(
            (a.action.as_str(), a.group.as_str(), a.approved_by.as_str()),
            ("install", "Pilot", "alice")
        );
        assert_eq!(a.deadline.as_deref(), Some(D1), "deadlines are kept in UTC");
        let v2 = c.approvals_version().await.unwrap();
        assert!(v2 > v1);
        c.approve(
            &ApprovalRequest {
                action: Some("uninstall".into()),
                ..req(plain, "All Computers")
            },
            "bob",
        )
        .await
        .unwrap();
        let listed = c
            .list_approvals(&ApprovalQuery {
                update: Some(plain.to_string()),
                group: None,
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        let snap = c.targeting_snapshot().await.unwrap();
        let pilot = snap.group_by_name("Pilot").unwrap();
        assert_eq!(snap.effective_for_update(plain, &[pilot]).unwrap().action, Install);
        assert_eq!(snap.effective_for_update(plain, &[]).unwrap().action, Uninstall);

        let d = c.decline(&plain.to_string(), "carol").await.unwrap();
        assert!(d.declined && d.changed);
        assert_eq!(d.removed_approvals.len(), 2);
        assert_eq!(d.declined_by.as_deref(), Some("carol"));
        assert!(c.store().approvals_for_update(plain).await.unwrap().is_empty());
        let v3 = c.approvals_version().await.unwrap();
        assert!(v3 > v2);
        let again = c.decline(&plain.to_string(), "dave").await.unwrap();
        assert!(
            !again.changed && again.declined_by.as_deref() == Some("carol"),
            "the first decline is kept"
        );
        let e = c.approve(&req(plain, "Pilot"), "alice").await.unwrap_err();
        assert!(is_conflict(&e) && e.to_string().contains("undecline"), "{e}");
        assert!(c.targeting_snapshot().await.unwrap().is_declined(plain));

        let u = c.undecline(&plain.to_string()).await.unwrap();
        assert!(!u.declined && u.changed);
        assert!(!c.undecline(&plain.to_string()).await.unwrap().changed);
        c.approve(&req(plain, "Pilot"), "alice").await.unwrap();
        c.remove_approval(&plain.to_string(), "Pilot").await.unwrap();
        let e = c.remove_approval(&plain.to_string(), "Pilot").await.unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");
    }

    #[tokio::test]
    async fn license_terms_must_be_accepted_before_install() {
        let with_file = Uuid::from_u128(0x200);
        let with_id = Uuid::from_u128(0x201);
        let same_id = Uuid::from_u128(0x202);
        let eula_id = "0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30";
        let (c, _dir) = catalog(&[
            Doc {
                extra_localized: EULA_FILE,
                ..Doc::software(with_file)
            },
            Doc {
                extra_props: r#" EulaID="0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30""#,
                ..Doc::software(with_id)
            },
            Doc {
                extra_props: r#" EulaID="0B9A3E4C-8C2E-4D1E-9C43-1D3B1C1E2F30""#,
                ..Doc::software(same_id)
            },
        ])
        .await;

        let e = c.approve(&req(with_file, "All Computers"), "alice").await.unwrap_err();
        assert!(
            is_conflict(&e) && e.to_string().contains("license") && e.to_string().contains("eula-en.txt"),
            "{e}"
        );
        assert!(c.store().all_approvals().await.unwrap().is_empty(), "nothing approved");
        // Removal and Not Approved need no license.
        c.approve(
            &ApprovalRequest {
                action: Some("uninstall".into()),
                ..req(with_file, "All Computers")
            },
            "alice",
        )
        .await
        .unwrap();
        let a = c
            .approve(
                &ApprovalRequest {
                    accept_license: true,
                    ..req(with_file, "All Computers")
                },
                "alice",
            )
            .await
            .unwrap();
        assert_eq!(a.license_accepted_by.as_deref(), Some("alice"));
        assert_eq!(a.action, "install");

        let e = c.approve(&req(with_id, "All Computers"), "bob").await.unwrap_err();
        assert!(is_conflict(&e), "{e}");
        c.approve(
            &ApprovalRequest {
                accept_license: true,
                ..req(with_id, "All Computers")
            },
            "bob",
        )
        .await
        .unwrap();
        let acc = c
            .store()
            .eula_acceptance(Uuid::parse_str(eula_id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acc.accepted_by, "bob");
        // Another update under the same EULA id needs no second acceptance.
        let a = c.approve(&req(same_id, "All Computers"), "carol").await.unwrap();
        assert_eq!(a.license_accepted_by.as_deref(), Some("bob"));
    }

    #[tokio::test]
    async fn targeting_mode_and_moves() {
        let (c, _dir) = catalog(&[]).await;
        assert_eq!(c.targeting_mode().await.unwrap(), TargetingMode::Server);
        c.create_group(&CreateGroupRequest {
            name: "Pilot".into(),
            parent: None,
        })
        .await
        .unwrap();
        c.store()
            .upsert_computer(&NewComputer {
                id: "pc-1".into(),
                ..NewComputer::default()
            })
            .await
            .unwrap();
        let e = c.move_computer("pc-1", &["All Computers".into()]).await.unwrap_err();
        assert!(matches!(e, CatalogError::InvalidRequest(_)), "{e}");
        let e = c
            .move_computer("pc-1", &["Pilot".into(), "Unassigned Computers".into()])
            .await
            .unwrap_err();
        assert!(matches!(e, CatalogError::InvalidRequest(_)), "{e}");
        let e = c.move_computer("nobody", &["Pilot".into()]).await.unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");
        assert_eq!(
            c.move_computer("pc-1", &["pilot".into()]).await.unwrap().groups,
            vec!["Pilot"]
        );
        assert_eq!(
            c.move_computer("pc-1", &[]).await.unwrap().groups,
            vec!["Unassigned Computers"]
        );

        let v = c.approvals_version().await.unwrap();
        c.set_targeting_mode(TargetingMode::Client).await.unwrap();
        assert_eq!(c.targeting_mode().await.unwrap(), TargetingMode::Client);
        assert_ne!(c.approvals_version().await.unwrap(), v);
        let e = c.move_computer("pc-1", &["Pilot".into()]).await.unwrap_err();
        assert!(is_conflict(&e) && e.to_string().contains("client"), "{e}");
    }

    #[tokio::test]
    async fn status_counts_per_update_and_computer() {
        let u = Uuid::from_u128(0x300);
        let other = Uuid::from_u128(0x301);
        let (c, _dir) = catalog(&[Doc::software(u), Doc::software(other)]).await;
        c.create_group(&CreateGroupRequest {
            name: "Pilot".into(),
            parent: None,
        })
        .await
        .unwrap();
        for id in ["pc-1", "pc-2", "pc-3"] {
            c.store()
                .upsert_computer(&NewComputer {
                    id: id.into(),
                    ..NewComputer::default()
                })
                .await
                .unwrap();
        }
        c.move_computer("pc-1", &["Pilot".into()]).await.unwrap();
        c.move_computer("pc-2", &["Pilot".into()]).await.unwrap();
        let report = |computer: &str, update: Uuid, state| UpdateStatus {
            computer_id: computer.into(),
            update_id: update,
            revision_number: 100,
            state,
            last_event_time: t(T1),
            last_event_id: None,
        };
        for s in [
            report("pc-1", u, InstallState::Installed),
            report("pc-2", u, InstallState::Failed),
            report("pc-3", u, InstallState::NotInstalled),
            report("pc-1", other, InstallState::NotApplicable),
        ] {
            c.store().set_update_status(&s).await.unwrap();
        }
        let by_update = c
            .status(&StatusQuery {
                update: Some(u.to_string()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(by_update.updates.len(), 1);
        let counts = by_update.updates[0].counts;
        assert_eq!(
            (
                counts.installed,
                counts.failed,
                counts.not_installed,
                counts.needed,
                counts.total
            ),
            (1, 1, 1, 2, 3)
        );
        assert_eq!(by_update.entries.len(), 3);

        let pilot = c
            .status(&StatusQuery {
                update: Some(u.to_string()),
                group: Some("Pilot".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(pilot.computers_in_scope, 2);
        assert_eq!(pilot.updates[0].counts.total, 2);

        let pc1 = c
            .status(&StatusQuery {
                computer: Some("pc-1".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(pc1.computers[0].counts.total, 2);
        assert_eq!(pc1.updates.len(), 2);

        let everything = c.status(&StatusQuery::default()).await.unwrap();
        let other_row = everything
            .updates
            .iter()
            .find(|r| r.update_id == other.to_string())
            .unwrap();
        assert_eq!((other_row.counts.not_applicable, other_row.no_status), (1, 2));

        let e = c
            .status(&StatusQuery {
                computer: Some("nobody".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");
        let detail = c.computer_detail("pc-1").await.unwrap();
        assert_eq!(detail.counts.total, 2);
        assert_eq!(detail.computer.groups, vec!["Pilot"]);
    }

    #[tokio::test]
    async fn a_replica_refuses_local_targeting_changes() {
        let (c, _dir) = catalog(&[]).await;
        let pilot = c
            .create_group(&CreateGroupRequest { name: "Pilot".into(), parent: None })
            .await
            .unwrap();
        let settings = r#"{"upstream":"http://root.example:8530","mode":"replica","storage":"all"}"#;
        c.store().set_setting(SYNC_SETTINGS, settings).await.unwrap();
        assert_eq!(c.replica_of().await.unwrap().as_deref(), Some("http://root.example:8530"));
        let v = c.approvals_version().await.unwrap();
        let update = Uuid::new_v4().to_string();
        let errors = [
            c.create_group(&CreateGroupRequest { name: "Local".into(), parent: None }).await.unwrap_err(),
            c.delete_group(&pilot.id).await.unwrap_err(),
            c.approve(&req(Uuid::new_v4(), "Pilot"), "admin").await.unwrap_err(),
            c.remove_approval(&update, "Pilot").await.unwrap_err(),
            c.decline(&update, "admin").await.unwrap_err(),
            c.undecline(&update).await.unwrap_err(),
        ];
        for e in &errors {
            assert!(is_conflict(e), "{e}");
            assert!(
                e.to_string().contains("this server is a replica of http://root.example:8530: approvals come from it"),
                "{e}"
            );
        }
        assert_eq!(c.store().list_groups().await.unwrap().len(), 3, "nothing created or deleted");
        assert_eq!(c.approvals_version().await.unwrap(), v);
        // The mirror's bump still moves the version on.
        c.bump_approvals_version().await.unwrap();
        assert_ne!(c.approvals_version().await.unwrap(), v);

        // Autonomous again: local changes are allowed.
        c.store()
            .set_setting(SYNC_SETTINGS, r#"{"upstream":"http://root.example:8530","mode":"autonomous"}"#)
            .await
            .unwrap();
        assert_eq!(c.replica_of().await.unwrap(), None);
        c.delete_group(&pilot.id).await.unwrap();
    }
}
