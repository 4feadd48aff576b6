//! Approvals, declines and license acceptance: what an administrator may approve for a group
//! (and refusals of what cannot be), declining and un-declining updates, and accepting the
//! license terms an update carries before it is approved for install.

use std::collections::HashMap;

use sluice_store::{Approval, ApprovalAction, ApprovalWrite, ApproveOutcome, LicenseGate, Revision, UpdateType};
use uuid::Uuid;

use crate::api::{ApprovalQuery, ApprovalRequest, ApprovalView, DeclineView};
use crate::status::TitleCache;
use crate::times::{format_utc, parse_rfc3339_utc};
use crate::{Catalog, CatalogError, conflict, invalid};

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

pub(crate) fn parse_update_id(s: &str) -> Result<Uuid, CatalogError> {
    Uuid::parse_str(s.trim()).map_err(|_| invalid(format!("'{s}' is not an update id")))
}

impl Catalog {
    /// The latest revision of an update that can carry approvals and declines.
    pub(crate) async fn approvable_revision(&self, update: &str) -> Result<Revision, CatalogError> {
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

    /// Approves an update for a group (or replaces the group's approval). `by` is recorded as
    /// the approver and, with `accept_license`, as the one who accepted the license terms.
    pub async fn approve(&self, req: &ApprovalRequest, by: &str) -> Result<ApprovalView, CatalogError> {
        self.approve_as(req, by, None).await
    }

    /// [`approve`](Self::approve), by an automatic approval rule or a rollout when `automatic`
    /// names the administrator it acts for: as WSUS's automatic approval does, it accepts the
    /// license terms on that administrator's behalf (recorded as such), and a deadline on an
    /// update that may ask for user input is left off rather than refused.
    pub(crate) async fn approve_as(&self, req: &ApprovalRequest, by: &str, automatic: Option<&str>) -> Result<ApprovalView, CatalogError> {
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
        // Checked again in the approval's transaction (which still does not lock out a decline
        // committing at the same moment on PostgreSQL); here so that a declined update is
        // reported before what else may be wrong with the request.
        if self.store.is_declined(update).await? {
            return Err(declined(update));
        }
        // A rule's deadline is checked once the update's facts are known: it is left off an
        // update that may ask for user input instead of refusing the approval.
        let checked_deadline = if automatic.is_some() { None } else { deadline };
        let (eula_key, license) = self.approval_checks(&rev, action, checked_deadline).await?;
        let deadline = if automatic.is_some() && license.needs_user_input { None } else { deadline };
        let accept_as = match automatic {
            Some(for_whom) => Some(for_whom),
            None => req.accept_license.then_some(by),
        };
        let gate = eula_key.map(|eula_key| LicenseGate { eula_key, accept_as });
        let write = ApprovalWrite { update_id: update, group_id: group.id, action, deadline, approved_by: by, license: gate };
        // The caller's audit entry names the update by id and the group by its stored name.
        sluice_store::amend_pending(|e| {
            e.target = update.to_string();
            e.detail = e.detail.replacen(&format!("group '{}'", req.group.trim()), &format!("group '{}'", group.name), 1);
        });
        let (approval, acceptance) = match self.store.approve(&write).await? {
            ApproveOutcome::Approved { approval, license } => (approval, license),
            ApproveOutcome::Declined => return Err(declined(update)),
            ApproveOutcome::LicenseNotAccepted => return Err(license_not_accepted(update, &license)),
        };
        let mut view = approval_view(&approval, &rev.title, &group.name);
        view.license_accepted_by = acceptance.as_ref().map(|a| a.accepted_by.clone());
        view.license_accepted_at = acceptance.map(|a| format_utc(a.accepted_at));
        Ok(view)
    }

    /// What must hold for `action` on this revision besides it not being declined: a bundled
    /// update, an expired one or one asking for user input under a deadline is refused. Returns
    /// the key the license acceptance an install approval needs is recorded under (if any),
    /// with the revision's license facts.
    pub(crate) async fn approval_checks(
        &self,
        rev: &Revision,
        action: ApprovalAction,
        deadline: Option<time::OffsetDateTime>,
    ) -> Result<(Option<Uuid>, sluice_store::LicenseFacts), CatalogError> {
        let update = rev.update_id;
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
        let license = self.license_facts_of(rev).await?;
        if deadline.is_some() && action == ApprovalAction::Install && license.needs_user_input {
            return Err(invalid(format!(
                "update {update} may ask for user input while installing, so it cannot have a deadline"
            )));
        }
        let mut key = None;
        if action == ApprovalAction::Install {
            match (license.eula_key, &license.eula_id) {
                (Some(eula_key), _) => key = Some(eula_key),
                (None, Some(id)) => {
                    return Err(invalid(format!(
                        "the update's EulaID '{id}' is not a GUID, so its acceptance cannot be recorded"
                    )));
                }
                (None, None) => {}
            }
        }
        Ok((key, license))
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
        sluice_store::amend_pending(|e| {
            e.target = update_id.to_string();
            e.detail = format!("group '{}', was {}", g.name, existing.action.as_str());
        });
        if !self.store.remove_approval(update_id, g.id).await? {
            return Err(CatalogError::NotFound(format!(
                "approval of update {update_id} for '{}'",
                g.name
            )));
        }
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
        sluice_store::amend_pending(|e| e.target = id.to_string());
        let (changed, removed_groups) = self.store.decline_with_approvals(id, by).await?;
        let groups = self.groups().await?;
        let names: HashMap<Uuid, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        let removed: Vec<String> =
            removed_groups.iter().map(|g| names.get(g).map(|n| n.to_string()).unwrap_or_else(|| g.to_string())).collect();
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
        sluice_store::amend_pending(|e| e.target = rev.update_id.to_string());
        let changed = self.store.undecline(rev.update_id).await?;
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
}

pub(crate) fn license_not_accepted(update: Uuid, license: &sluice_store::LicenseFacts) -> CatalogError {
    let files = if license.eula_files.is_empty() {
        String::new()
    } else {
        format!(" ({})", license.eula_files.join(", "))
    };
    conflict(format!(
        "update {update} carries license terms{files} that have not been accepted; \
         review them and approve again with --accept-license (API: \"accept_license\": true)"
    ))
}

pub(crate) fn declined(update: Uuid) -> CatalogError {
    conflict(format!("update {update} is declined; un-decline it first ('sluice undecline {update}')"))
}

pub(crate) fn approval_view(a: &Approval, title: &str, group: &str) -> ApprovalView {
    ApprovalView {
        update_id: a.update_id.to_string(),
        title: title.to_string(),
        group_id: a.group_id.to_string(),
        group: group.to_string(),
        action: a.action,
        deadline: a.deadline.map(format_utc),
        approved_by: a.approved_by.clone(),
        approved_at: format_utc(a.approved_at),
        license_accepted_by: None,
        license_accepted_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CreateGroupRequest;
    use crate::targeting::TargetingMode;
    use crate::test_support::*;
    use ApprovalAction::{Install, NotApproved, Uninstall};

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
        assert_eq!(a.action, Install);

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
    async fn license_facts_decide_deadlines_and_unrecordable_terms() {
        let asks = Uuid::from_u128(0x210);
        let odd_id = Uuid::from_u128(0x211);
        let legacy = Uuid::from_u128(0x212);
        let (c, _dir) = catalog(&[
            Doc { extra_props: r#"><upd:InstallationBehavior CanRequestUserInput="true" /"#, ..Doc::software(asks) },
            Doc { extra_props: r#" EulaID="contoso-terms""#, ..Doc::software(odd_id) },
        ])
        .await;
        let with_deadline = |id| ApprovalRequest { deadline: Some(D1.into()), ..req(id, "All Computers") };
        let e = c.approve(&with_deadline(asks), "alice").await.unwrap_err();
        assert!(e.to_string().contains("user input"), "{e}");
        c.approve(&req(asks, "All Computers"), "alice").await.unwrap();

        let e = c.approve(&ApprovalRequest { accept_license: true, ..req(odd_id, "All Computers") }, "alice").await.unwrap_err();
        assert!(e.to_string().contains("'contoso-terms' is not a GUID"), "{e}");
        let v = c.approvals_version().await.unwrap();
        // Removal needs no license terms.
        c.approve(&ApprovalRequest { action: Some("uninstall".into()), ..req(odd_id, "All Computers") }, "alice")
            .await
            .unwrap();
        assert_ne!(c.approvals_version().await.unwrap(), v);

        // Facts not derived yet (stored by an older version sharing the database): derived from
        // the document there and then, and kept; its license terms still have to be accepted.
        let (name, bytes) = Doc { extra_localized: EULA_FILE, ..Doc::software(legacy) }.xml();
        let parsed = sluice_metadata::parse_update_bytes(&bytes, &name).unwrap();
        let rev = sluice_store::NewRevision { license: None, ..crate::prepare::prepare_revision(&parsed, &Default::default()) };
        c.store().insert_revisions(&[rev]).await.unwrap();
        let e = c.approve(&req(legacy, "All Computers"), "alice").await.unwrap_err();
        assert!(is_conflict(&e) && e.to_string().contains("eula-en.txt"), "{e}");
        let kept = c.store().latest_revision(legacy).await.unwrap().unwrap().license;
        assert_eq!(kept, Some(crate::license::license_facts(&parsed.update)));
        c.approve(&ApprovalRequest { accept_license: true, ..req(legacy, "All Computers") }, "alice").await.unwrap();
    }
}
