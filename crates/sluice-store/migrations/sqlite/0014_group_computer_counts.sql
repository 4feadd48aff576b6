-- The console at fleet scale: per computer group, how many computers it has and how many of
-- them need updates, have failed installs or have reported, kept by triggers so that the
-- group tree, the group pickers and the dashboard read one row per group instead of joining
-- 100,000 computers on every page. SQLite flavour; keep in step with
-- migrations/postgres/0014_group_computer_counts.sql.
--
-- A computer's standing comes from its computer_counts row (none: nothing reported yet):
-- needing = needed > 0, failed = failed > 0, reported = total > 0. "All Computers" counts every
-- computer; "Unassigned Computers" those in no other group; any other group its direct
-- members. Memberships of the two built-in groups themselves are not counted.
--
-- Every trigger keeps the counts right for the rows as they are when it fires, whatever the
-- order of cascades; `Store::delete_computer` removes a computer's memberships and status rows
-- before the computer itself, so that it leaves the groups with its standing still known.

CREATE TABLE group_computer_counts (
    group_id  TEXT   PRIMARY KEY,
    computers BIGINT NOT NULL DEFAULT 0,
    needing   BIGINT NOT NULL DEFAULT 0,
    failed    BIGINT NOT NULL DEFAULT 0,
    reported  BIGINT NOT NULL DEFAULT 0
);

INSERT INTO group_computer_counts (group_id) SELECT id FROM computer_groups;
INSERT INTO group_computer_counts (group_id) VALUES ('a0a08746-4dbe-4a37-9adf-9e7652c0b421'), ('b73ca6ed-5727-47f3-84de-015e03f6a88a')
    ON CONFLICT (group_id) DO NOTHING;

UPDATE group_computer_counts SET (computers, needing, failed, reported) = (
    SELECT COUNT(*), COALESCE(SUM(cc.needed > 0), 0), COALESCE(SUM(cc.failed > 0), 0), COALESCE(SUM(cc.total > 0), 0)
    FROM computer_group_members m LEFT JOIN computer_counts cc ON cc.computer_id = m.computer_id
    WHERE m.group_id = group_computer_counts.group_id)
WHERE group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');

UPDATE group_computer_counts SET (computers, needing, failed, reported) = (
    SELECT COUNT(*), COALESCE(SUM(cc.needed > 0), 0), COALESCE(SUM(cc.failed > 0), 0), COALESCE(SUM(cc.total > 0), 0)
    FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id)
WHERE group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421';

UPDATE group_computer_counts SET (computers, needing, failed, reported) = (
    SELECT COUNT(*), COALESCE(SUM(cc.needed > 0), 0), COALESCE(SUM(cc.failed > 0), 0), COALESCE(SUM(cc.total > 0), 0)
    FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id
    WHERE NOT EXISTS (SELECT 1 FROM computer_group_members m WHERE m.computer_id = c.id
        AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')))
WHERE group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';

CREATE TRIGGER group_computers_group_added AFTER INSERT ON computer_groups
BEGIN
    INSERT INTO group_computer_counts (group_id) VALUES (NEW.id) ON CONFLICT (group_id) DO NOTHING;
END;

CREATE TRIGGER group_computers_group_deleted AFTER DELETE ON computer_groups
BEGIN
    DELETE FROM group_computer_counts WHERE group_id = OLD.id;
END;

-- A new computer is in no group yet.
CREATE TRIGGER group_computers_computer_added AFTER INSERT ON computers
BEGIN
    UPDATE group_computer_counts SET computers = computers + 1
    WHERE group_id IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');
END;

-- With its standing as it is now (zero after `delete_computer` removed its status rows).
CREATE TRIGGER group_computers_computer_deleted AFTER DELETE ON computers
BEGIN
    UPDATE group_computer_counts SET
        computers = computers - 1,
        needing = needing - COALESCE((SELECT needed > 0 FROM computer_counts WHERE computer_id = OLD.id), 0),
        failed = failed - COALESCE((SELECT failed > 0 FROM computer_counts WHERE computer_id = OLD.id), 0),
        reported = reported - COALESCE((SELECT total > 0 FROM computer_counts WHERE computer_id = OLD.id), 0)
    WHERE group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421'
       OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (
           SELECT 1 FROM computer_group_members m WHERE m.computer_id = OLD.id
           AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')));
END;

-- Joining a group; leaving "Unassigned Computers" if it is the computer's first.
CREATE TRIGGER group_computers_member_added AFTER INSERT ON computer_group_members
WHEN NEW.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
BEGIN
    UPDATE group_computer_counts SET
        computers = computers + (CASE WHEN group_id = NEW.group_id THEN 1 ELSE -1 END),
        needing = needing + (CASE WHEN group_id = NEW.group_id THEN 1 ELSE -1 END)
            * COALESCE((SELECT needed > 0 FROM computer_counts WHERE computer_id = NEW.computer_id), 0),
        failed = failed + (CASE WHEN group_id = NEW.group_id THEN 1 ELSE -1 END)
            * COALESCE((SELECT failed > 0 FROM computer_counts WHERE computer_id = NEW.computer_id), 0),
        reported = reported + (CASE WHEN group_id = NEW.group_id THEN 1 ELSE -1 END)
            * COALESCE((SELECT total > 0 FROM computer_counts WHERE computer_id = NEW.computer_id), 0)
    WHERE group_id = NEW.group_id
       OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
           AND EXISTS (SELECT 1 FROM computers WHERE id = NEW.computer_id)
           AND (SELECT COUNT(*) FROM computer_group_members m WHERE m.computer_id = NEW.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')) = 1);
END;

-- Leaving a group; back in "Unassigned Computers" if it was the computer's last (unless the
-- computer itself is being deleted).
CREATE TRIGGER group_computers_member_removed AFTER DELETE ON computer_group_members
WHEN OLD.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
BEGIN
    UPDATE group_computer_counts SET
        computers = computers + (CASE WHEN group_id = OLD.group_id THEN -1 ELSE 1 END),
        needing = needing + (CASE WHEN group_id = OLD.group_id THEN -1 ELSE 1 END)
            * COALESCE((SELECT needed > 0 FROM computer_counts WHERE computer_id = OLD.computer_id), 0),
        failed = failed + (CASE WHEN group_id = OLD.group_id THEN -1 ELSE 1 END)
            * COALESCE((SELECT failed > 0 FROM computer_counts WHERE computer_id = OLD.computer_id), 0),
        reported = reported + (CASE WHEN group_id = OLD.group_id THEN -1 ELSE 1 END)
            * COALESCE((SELECT total > 0 FROM computer_counts WHERE computer_id = OLD.computer_id), 0)
    WHERE group_id = OLD.group_id
       OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
           AND EXISTS (SELECT 1 FROM computers WHERE id = OLD.computer_id)
           AND NOT EXISTS (SELECT 1 FROM computer_group_members m WHERE m.computer_id = OLD.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')));
END;

-- A computer's standing changed: every group it counts in follows. The built-in groups only
-- while the computer exists (a deleted one has already left them).
CREATE TRIGGER group_computers_standing_changed AFTER UPDATE ON computer_counts
WHEN (OLD.needed > 0) <> (NEW.needed > 0) OR (OLD.failed > 0) <> (NEW.failed > 0) OR (OLD.total > 0) <> (NEW.total > 0)
BEGIN
    UPDATE group_computer_counts SET
        needing = needing + (NEW.needed > 0) - (OLD.needed > 0),
        failed = failed + (NEW.failed > 0) - (OLD.failed > 0),
        reported = reported + (NEW.total > 0) - (OLD.total > 0)
    WHERE group_id IN (SELECT m.group_id FROM computer_group_members m WHERE m.computer_id = NEW.computer_id
            AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))
       OR (EXISTS (SELECT 1 FROM computers WHERE id = NEW.computer_id) AND (
            group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421'
            OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (
                SELECT 1 FROM computer_group_members m WHERE m.computer_id = NEW.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')))));
END;

-- A standing that goes away with its row (the computer was deleted).
CREATE TRIGGER group_computers_standing_dropped AFTER DELETE ON computer_counts
BEGIN
    UPDATE group_computer_counts SET
        needing = needing - (OLD.needed > 0),
        failed = failed - (OLD.failed > 0),
        reported = reported - (OLD.total > 0)
    WHERE group_id IN (SELECT m.group_id FROM computer_group_members m WHERE m.computer_id = OLD.computer_id
            AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))
       OR (EXISTS (SELECT 1 FROM computers WHERE id = OLD.computer_id) AND (
            group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421'
            OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (
                SELECT 1 FROM computer_group_members m WHERE m.computer_id = OLD.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')))));
END;
