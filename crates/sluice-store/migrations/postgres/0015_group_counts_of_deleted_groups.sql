-- Deleting a group left counts rows behind on PostgreSQL: the group's row trigger emptied its
-- group_update_counts first, then the statement trigger of the memberships' cascade took each
-- member's status rows out of the deleted group again, re-creating its rows with negative
-- counts. `Store::consistency_problems` found them. The membership trigger now skips groups
-- that no longer exist, and the rows already left behind go. PostgreSQL flavour; keep in step
-- with migrations/sqlite/0015_group_counts_of_deleted_groups.sql.
CREATE OR REPLACE FUNCTION group_counts_members_removed() RETURNS TRIGGER AS $$
BEGIN
    PERFORM group_counts_computer(o.group_id, o.computer_id, -1) FROM removed o
    WHERE o.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
      AND EXISTS (SELECT 1 FROM computer_groups g WHERE g.id = o.group_id);
    PERFORM group_counts_computer('b73ca6ed-5727-47f3-84de-015e03f6a88a', c.computer_id, 1)
    FROM (SELECT DISTINCT o.computer_id FROM removed o
          WHERE o.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
            AND NOT EXISTS (
                SELECT 1 FROM computer_group_members m WHERE m.computer_id = o.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))) c;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DELETE FROM group_update_counts k WHERE NOT EXISTS (SELECT 1 FROM computer_groups g WHERE g.id = k.group_id);
