-- Counts rows of deleted groups: SQLite's row triggers never left any (the membership
-- cascade runs before the group's own delete trigger empties its rows), but the PostgreSQL
-- flavour did, and both schemas take the same clean-up so they stay in step. SQLite flavour;
-- keep in step with migrations/postgres/0015_group_counts_of_deleted_groups.sql.
DELETE FROM group_update_counts WHERE group_id NOT IN (SELECT id FROM computer_groups);
