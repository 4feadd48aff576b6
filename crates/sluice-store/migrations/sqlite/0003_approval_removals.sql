-- When a group's approval of an update was last taken away (removed outright, or dropped with
-- a decline). A client that cached the update with its old deployment learns of the change
-- only through a deployment change time newer than its cookie's watermark (MS-WUSP 3.1.5.7,
-- ChangedUpdates); a deleted approval row leaves no such time behind, so the removal records
-- one here. SQLite flavour; keep in step with migrations/postgres/0003_approval_removals.sql.

CREATE TABLE approval_removals (
    update_id   TEXT NOT NULL,
    -- No foreign key: rows of a group deleted later are harmless (no computer is in it).
    group_id    TEXT NOT NULL,
    removed_at  TEXT NOT NULL,
    PRIMARY KEY (update_id, group_id)
);
