//! Computer groups and computers: the group tree administrators build, which computers are in
//! which groups (server-side targeting), and the views of both.

use std::collections::{BTreeMap, HashMap};

use sluice_store::{ALL_COMPUTERS_GROUP, Computer, ComputerGroup, UNASSIGNED_COMPUTERS_GROUP};
use uuid::Uuid;

use crate::api::{
    ComputerDetail, ComputerGroupView, ComputerUpdateStatus, ComputerView, CreateGroupRequest, DeletedGroup,
    EffectiveApprovalView, StatusCounts,
};
use crate::status::TitleCache;
use crate::targeting::{EffectiveApproval, TargetingMode, TargetingSnapshot, name_key};
use crate::times::format_utc;
use crate::{Catalog, CatalogError, conflict, invalid};

/// Longest group name accepted (WSUS allows 256 characters).
const MAX_GROUP_NAME: usize = 256;

/// Characters that are invisible or reorder the text around them: bidi embeddings, overrides,
/// isolates and marks, zero-width spaces and joiners, the word joiner, the byte order mark, line
/// and paragraph separators. In a group name they make look-alikes ("Ring 1" and "Ring\u{200b} 1",
/// or a right-to-left override that shows "Servers" for another name), which administrators and
/// clients' TargetGroup policies would confuse.
pub(crate) fn is_invisible_or_reordering(c: char) -> bool {
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

fn os_version(c: &Computer) -> Option<String> {
    let i = &c.info;
    let parts: Vec<String> = [i.os_major, i.os_minor, i.os_build, i.os_revision]
        .iter()
        .map_while(|p| p.map(|v| v.to_string()))
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

impl Catalog {
    /// Every group, read once; name resolution happens in memory so it is the same on both
    /// database backends.
    pub(crate) async fn groups(&self) -> Result<Vec<ComputerGroup>, CatalogError> {
        Ok(self.store.list_groups().await?)
    }

    pub(crate) fn find_group<'a>(groups: &'a [ComputerGroup], name_or_id: &str) -> Result<&'a ComputerGroup, CatalogError> {
        let wanted = name_or_id.trim();
        let by_id = Uuid::parse_str(wanted).ok();
        let key = name_key(wanted);
        groups
            .iter()
            .find(|g| Some(g.id) == by_id)
            .or_else(|| groups.iter().find(|g| name_key(&g.name) == key))
            .ok_or_else(|| CatalogError::NotFound(format!("computer group '{wanted}'")))
    }

    /// Explicit memberships of every computer that has any, one query per group (groups are
    /// few, computers many).
    pub(crate) async fn memberships(&self, groups: &[ComputerGroup]) -> Result<HashMap<String, Vec<Uuid>>, CatalogError> {
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
        let snapshot = crate::targeting::snapshot(&groups, &[], []);
        // Counted in SQL (one row per computer at most), not by loading every computer: the
        // console asks for the groups on most pages, at 100,000 computers too.
        let members: HashMap<Uuid, i64> =
            self.store.fleet_standing().await?.into_iter().map(|g| (g.group_id, g.computers)).collect();
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
        let snapshot = crate::targeting::snapshot(&all, &[], []);
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
        // For the caller's audit entry, which the deletion's transaction writes.
        sluice_store::amend_pending(|e| {
            e.detail = format!("id {}, {removed_approvals} approval(s), {} member(s)", group.id, members.len());
        });
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

    pub(crate) fn computer_view(c: &Computer, membership: &[Uuid], names: &HashMap<Uuid, String>) -> ComputerView {
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
        let snapshot = crate::targeting::snapshot(&groups, &[], []);
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
                action: e.action,
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
        let snapshot = crate::targeting::snapshot(&groups, &[], []);
        let names: HashMap<Uuid, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        Ok(Self::computer_view(&c, &snapshot.membership(&ids), &names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_store::NewComputer;

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
        register(&c, &["pc-1", "pc-2"]).await;
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
}
