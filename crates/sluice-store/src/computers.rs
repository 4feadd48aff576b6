//! Computers and computer target groups.
//!
//! Membership is literal: the store never adds computers to "All Computers" or "Unassigned
//! Computers" by itself, and deleting a group simply drops its memberships (and approvals).
//! Moving orphaned computers to "Unassigned Computers" is the caller's job.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, opt_ts, ts, uuid_str};
use crate::error::{Result, StoreError};
use crate::types::*;

const GROUP_COLS: &str = "id, name, parent_id, built_in, created_at";

macro_rules! computer_cols {
    () => {
        "c.id, c.dns_name, c.ip_address, c.os_description, c.os_major, c.os_minor, c.os_build, \
         c.os_revision, c.os_service_pack, c.locale, c.manufacturer, c.model, c.bios_name, \
         c.bios_version, c.bios_release_date, c.client_version, c.last_sync_time, \
         c.last_reported_status_time, c.registered_at, c.extra"
    };
}

fn decode_group<R: RowExt>(r: &R) -> Result<ComputerGroup> {
    Ok(ComputerGroup {
        id: r.uuid("id")?,
        name: r.text("name")?,
        parent_id: r.opt_uuid("parent_id")?,
        built_in: r.flag("built_in")?,
        created_at: r.time("created_at")?,
    })
}

fn decode_computer<R: RowExt>(r: &R) -> Result<Computer> {
    Ok(Computer {
        info: NewComputer {
            id: r.text("id")?,
            dns_name: r.opt_text("dns_name")?,
            ip_address: r.opt_text("ip_address")?,
            os_description: r.opt_text("os_description")?,
            os_major: r.opt_int("os_major")?,
            os_minor: r.opt_int("os_minor")?,
            os_build: r.opt_int("os_build")?,
            os_revision: r.opt_int("os_revision")?,
            os_service_pack: r.opt_text("os_service_pack")?,
            locale: r.opt_text("locale")?,
            manufacturer: r.opt_text("manufacturer")?,
            model: r.opt_text("model")?,
            bios_name: r.opt_text("bios_name")?,
            bios_version: r.opt_text("bios_version")?,
            bios_release_date: r.opt_text("bios_release_date")?,
            client_version: r.opt_text("client_version")?,
            extra: r.text("extra")?,
        },
        last_sync_time: r.opt_time("last_sync_time")?,
        last_reported_status_time: r.opt_time("last_reported_status_time")?,
        registered_at: r.time("registered_at")?,
    })
}

impl Store {
    /// Creates a group; `Conflict` if the name is taken (case-insensitively), `NotFound` if
    /// the parent does not exist.
    pub async fn create_group(&self, name: &str, parent_id: Option<Uuid>) -> Result<ComputerGroup> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::InvalidInput("group name is empty".to_owned()));
        }
        let group = ComputerGroup {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            parent_id,
            built_in: false,
            created_at: now(),
        };
        let id = uuid_str(&group.id);
        let parent = parent_id.as_ref().map(uuid_str);
        let created = ts(group.created_at)?;
        in_tx!(self, tx => {
            if let Some(p) = &parent {
                let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM computer_groups WHERE id = $1")
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound(format!("parent group {p}")));
                }
            }
            sqlx::query(
                "INSERT INTO computer_groups (id, name, parent_id, built_in, created_at) \
                 VALUES ($1, $2, $3, FALSE, $4)",
            )
            .bind(&id)
            .bind(name)
            .bind(parent.as_deref())
            .bind(&created)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("group name {name:?} is taken")),
                other => other,
            })?;
        });
        Ok(group)
    }

    /// Creates or updates a group with a given id (a replica mirrors its upstream's groups by
    /// id): a new group is inserted, an existing one takes the name and parent. Built-in groups
    /// are left as they are. `Conflict` if another group has the name, `NotFound` if the parent
    /// does not exist.
    pub async fn upsert_group_with_id(&self, id: Uuid, name: &str, parent_id: Option<Uuid>) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::InvalidInput("group name is empty".to_owned()));
        }
        let gid = uuid_str(&id);
        let parent = parent_id.as_ref().map(uuid_str);
        let created = ts(now())?;
        in_tx!(self, tx => {
            if let Some(p) = &parent {
                let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM computer_groups WHERE id = $1")
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound(format!("parent group {p}")));
                }
            }
            sqlx::query(
                "INSERT INTO computer_groups (id, name, parent_id, built_in, created_at) \
                 VALUES ($1, $2, $3, FALSE, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id \
                 WHERE computer_groups.built_in = FALSE",
            )
            .bind(&gid)
            .bind(name)
            .bind(parent.as_deref())
            .bind(&created)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("group name {name:?} is taken")),
                other => other,
            })?;
        });
        Ok(())
    }

    /// Every group, ordered by name (case-insensitive).
    pub async fn list_groups(&self) -> Result<Vec<ComputerGroup>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GROUP_COLS} FROM computer_groups ORDER BY LOWER(name), id"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_group).collect()
        })
    }

    /// A group by id.
    pub async fn get_group(&self, id: Uuid) -> Result<Option<ComputerGroup>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GROUP_COLS} FROM computer_groups WHERE id = $1"
        ));
        let id = uuid_str(&id);
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(&id).fetch_optional(db).await?;
            row.as_ref().map(decode_group).transpose()
        })
    }

    /// A group by name (ASCII case-insensitive), as client-side targeting names them.
    pub async fn group_by_name(&self, name: &str) -> Result<Option<ComputerGroup>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GROUP_COLS} FROM computer_groups WHERE LOWER(name) = LOWER($1)"
        ));
        let name = name.trim().to_owned();
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(&name).fetch_optional(db).await?;
            row.as_ref().map(decode_group).transpose()
        })
    }

    /// Deletes a group. Refuses built-in groups and groups with children (`Conflict`).
    /// Memberships and approvals of the group are dropped with it.
    pub async fn delete_group(&self, id: Uuid) -> Result<()> {
        let id = uuid_str(&id);
        in_tx!(self, tx => {
            let built_in: Option<bool> =
                sqlx::query_scalar("SELECT built_in FROM computer_groups WHERE id = $1")
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match built_in {
                None => return Err(StoreError::NotFound(format!("group {id}"))),
                Some(true) => {
                    return Err(StoreError::Conflict(format!("group {id} is built in")));
                }
                Some(false) => {}
            }
            let children: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM computer_groups WHERE parent_id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?;
            if children > 0 {
                return Err(StoreError::Conflict(format!("group {id} has {children} child group(s)")));
            }
            sqlx::query("DELETE FROM computer_groups WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Inserts or refreshes a computer's self-description. Sync/report times and the
    /// registration time are kept. Returns true when the computer was new.
    pub async fn upsert_computer(&self, c: &NewComputer) -> Result<bool> {
        if c.id.is_empty() {
            return Err(StoreError::InvalidInput("computer id is empty".to_owned()));
        }
        let registered = ts(now())?;
        let extra = if c.extra.is_empty() {
            "{}"
        } else {
            c.extra.as_str()
        };
        // Insert-or-nothing first, then update: portable, and tells us which one happened.
        macro_rules! bind_info {
            ($q:expr) => {
                $q.bind(c.dns_name.as_deref())
                    .bind(c.ip_address.as_deref())
                    .bind(c.os_description.as_deref())
                    .bind(c.os_major)
                    .bind(c.os_minor)
                    .bind(c.os_build)
                    .bind(c.os_revision)
                    .bind(c.os_service_pack.as_deref())
                    .bind(c.locale.as_deref())
                    .bind(c.manufacturer.as_deref())
                    .bind(c.model.as_deref())
                    .bind(c.bios_name.as_deref())
                    .bind(c.bios_version.as_deref())
                    .bind(c.bios_release_date.as_deref())
                    .bind(c.client_version.as_deref())
                    .bind(extra)
                    .bind(c.id.as_str())
            };
        }
        const INSERT: &str = "INSERT INTO computers (dns_name, ip_address, os_description, \
             os_major, os_minor, os_build, os_revision, os_service_pack, locale, manufacturer, \
             model, bios_name, bios_version, bios_release_date, client_version, extra, id, \
             registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18) ON CONFLICT (id) DO NOTHING";
        const UPDATE: &str = "UPDATE computers SET dns_name = $1, ip_address = $2, \
             os_description = $3, os_major = $4, os_minor = $5, os_build = $6, os_revision = $7, \
             os_service_pack = $8, locale = $9, manufacturer = $10, model = $11, bios_name = $12, \
             bios_version = $13, bios_release_date = $14, client_version = $15, extra = $16 \
             WHERE id = $17";
        Ok(in_tx!(self, tx => {
            let inserted = bind_info!(sqlx::query(INSERT))
                .bind(&registered)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if !inserted {
                bind_info!(sqlx::query(UPDATE)).execute(&mut *tx).await?;
            }
            inserted
        }))
    }

    /// A computer by id.
    pub async fn get_computer(&self, id: &str) -> Result<Option<Computer>> {
        const SQL: &str = concat!(
            "SELECT ",
            computer_cols!(),
            " FROM computers c WHERE c.id = $1"
        );
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(id).fetch_optional(db).await?;
            row.as_ref().map(decode_computer).transpose()
        })
    }

    /// Computers ordered by DNS name (unnamed last), all of them or only the explicit members of `group`.
    pub async fn list_computers(&self, group: Option<Uuid>) -> Result<Vec<Computer>> {
        const ALL: &str = concat!(
            "SELECT ",
            computer_cols!(),
            " FROM computers c ORDER BY c.dns_name NULLS LAST, c.id"
        );
        const IN_GROUP: &str = concat!(
            "SELECT ",
            computer_cols!(),
            " FROM computers c JOIN computer_group_members m ON m.computer_id = c.id \
             WHERE m.group_id = $1 ORDER BY c.dns_name NULLS LAST, c.id"
        );
        let group = group.as_ref().map(uuid_str);
        on_read!(self, db => {
            let rows = match &group {
                None => sqlx::query(ALL).fetch_all(db).await?,
                Some(g) => sqlx::query(IN_GROUP).bind(g).fetch_all(db).await?,
            };
            rows.iter().map(decode_computer).collect()
        })
    }

    /// One page of the computers of `scope`, ordered by DNS name (unnamed last), then id.
    pub async fn computers_page(&self, scope: crate::ComputerScope, limit: i64, offset: i64) -> Result<Vec<Computer>> {
        use crate::reports::COMPUTER_ORDER;
        // The page's ids come from the name index alone (a deep offset skips index entries,
        // not rows); only the page's rows are then read.
        let mut b = crate::codec::SqlBuilder::new(concat!(
            "SELECT ",
            computer_cols!(),
            " FROM computers c WHERE c.id IN (SELECT c.id FROM computers c WHERE TRUE"
        ));
        scope.restrict(&mut b, "c.id");
        let l = b.arg(crate::codec::Bind::Big(limit.max(0)));
        let o = b.arg(crate::codec::Bind::Big(offset.max(0)));
        b.push(&format!(" ORDER BY {COMPUTER_ORDER} LIMIT {l} OFFSET {o}) ORDER BY {COMPUTER_ORDER}"));
        let sql = sqlx::AssertSqlSafe(b.sql);
        on_read!(self, db => {
            let rows = crate::codec::bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await?;
            rows.iter().map(decode_computer).collect()
        })
    }

    /// Registers many computers in one transaction (fleet generators and benchmarks); known
    /// ids are left as they are. Returns how many were new.
    pub async fn insert_computers(&self, computers: &[NewComputer]) -> Result<u64> {
        const INSERT: &str = "INSERT INTO computers (id, dns_name, ip_address, os_description, \
             os_major, os_minor, os_build, os_revision, client_version, extra, registered_at, \
             last_sync_time, last_reported_status_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) ON CONFLICT (id) DO NOTHING";
        let at = ts(now())?;
        let mut n = 0;
        in_tx!(self, tx => {
            for c in computers {
                n += sqlx::query(INSERT)
                    .bind(c.id.as_str())
                    .bind(c.dns_name.as_deref())
                    .bind(c.ip_address.as_deref())
                    .bind(c.os_description.as_deref())
                    .bind(c.os_major)
                    .bind(c.os_minor)
                    .bind(c.os_build)
                    .bind(c.os_revision)
                    .bind(c.client_version.as_deref())
                    .bind(if c.extra.is_empty() { "{}" } else { c.extra.as_str() })
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
        });
        Ok(n)
    }

    /// Adds computers to a group in one transaction (existing memberships are kept).
    pub async fn add_group_members(&self, group_id: Uuid, computer_ids: &[String]) -> Result<()> {
        const INSERT: &str = "INSERT INTO computer_group_members (computer_id, group_id) VALUES ($1, $2) \
             ON CONFLICT (computer_id, group_id) DO NOTHING";
        let g = uuid_str(&group_id);
        in_tx!(self, tx => {
            for c in computer_ids {
                sqlx::query(INSERT).bind(c.as_str()).bind(&g).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Deletes a computer with its memberships and status rows. Memberships and status rows
    /// go first, while the computer still exists, so that the per-group counts (migration
    /// 0014) see it leave its groups with its standing known.
    pub async fn delete_computer(&self, id: &str) -> Result<()> {
        let n = in_tx!(self, tx => {
            sqlx::query("DELETE FROM computer_group_members WHERE computer_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM update_status WHERE computer_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM computers WHERE id = $1").bind(id).execute(&mut *tx).await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("computer {id}")));
        }
        Ok(())
    }

    /// Replaces a computer's group memberships with `group_ids` (atomically).
    pub async fn set_computer_groups(&self, computer_id: &str, group_ids: &[Uuid]) -> Result<()> {
        let mut groups: Vec<String> = group_ids.iter().map(uuid_str).collect();
        groups.sort();
        groups.dedup();
        in_tx!(self, tx => {
            let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM computers WHERE id = $1")
                .bind(computer_id)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!("computer {computer_id}")));
            }
            sqlx::query("DELETE FROM computer_group_members WHERE computer_id = $1")
                .bind(computer_id)
                .execute(&mut *tx)
                .await?;
            for g in &groups {
                sqlx::query("INSERT INTO computer_group_members (computer_id, group_id) VALUES ($1, $2)")
                    .bind(computer_id)
                    .bind(g)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::NotFound(format!("group {g}")),
                        other => other,
                    })?;
            }
        });
        Ok(())
    }

    /// The groups a computer is an explicit member of, ordered by name.
    pub async fn computer_groups(&self, computer_id: &str) -> Result<Vec<ComputerGroup>> {
        const SQL: &str = "SELECT g.id, g.name, g.parent_id, g.built_in, g.created_at \
             FROM computer_groups g JOIN computer_group_members m ON m.group_id = g.id \
             WHERE m.computer_id = $1 ORDER BY LOWER(g.name), g.id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(computer_id).fetch_all(db).await?;
            rows.iter().map(decode_group).collect()
        })
    }

    /// Records the time of a computer's last SyncUpdates call.
    pub async fn touch_computer_sync(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.touch(
            id,
            "UPDATE computers SET last_sync_time = $1 WHERE id = $2",
            at,
        )
        .await
    }

    /// Records the time of a computer's last status report.
    pub async fn touch_computer_report(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.touch(
            id,
            "UPDATE computers SET last_reported_status_time = $1 WHERE id = $2",
            at,
        )
        .await
    }

    async fn touch(&self, id: &str, sql: &'static str, at: OffsetDateTime) -> Result<()> {
        let at = opt_ts(Some(at))?;
        let n = on_write!(self, db => {
            sqlx::query(sql).bind(at.as_deref()).bind(id).execute(db).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("computer {id}")));
        }
        Ok(())
    }
}
