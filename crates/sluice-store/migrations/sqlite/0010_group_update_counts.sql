-- Compliance of one computer group at fleet scale: per group and update, how many of the
-- group's computers last reported each state, kept like update_counts so that a group's
-- compliance report reads one row per update instead of aggregating its members' status rows.
-- A group's computers are its explicit members; "Unassigned Computers" (its own rows, under
-- its built-in id) holds the computers in no group but the two built-in ones. SQLite flavour;
-- keep in step with migrations/postgres/0010_group_update_counts.sql.

CREATE TABLE group_update_counts (
    group_id                 TEXT   NOT NULL,
    update_id                TEXT   NOT NULL,
    unknown                  BIGINT NOT NULL DEFAULT 0,
    not_applicable           BIGINT NOT NULL DEFAULT 0,
    not_installed            BIGINT NOT NULL DEFAULT 0,
    downloaded               BIGINT NOT NULL DEFAULT 0,
    installed                BIGINT NOT NULL DEFAULT 0,
    installed_pending_reboot BIGINT NOT NULL DEFAULT 0,
    failed                   BIGINT NOT NULL DEFAULT 0,
    -- not_installed + downloaded + installed_pending_reboot + failed, as WSUS counts "Needed".
    needed                   BIGINT NOT NULL DEFAULT 0,
    total                    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, update_id)
);

INSERT INTO group_update_counts (group_id, update_id, unknown, not_applicable, not_installed,
                                 downloaded, installed, installed_pending_reboot, failed, needed,
                                 total)
SELECT g.group_id, s.update_id,
       SUM(s.state = 'unknown'), SUM(s.state = 'not_applicable'), SUM(s.state = 'not_installed'),
       SUM(s.state = 'downloaded'), SUM(s.state = 'installed'),
       SUM(s.state = 'installed_pending_reboot'), SUM(s.state = 'failed'),
       SUM(s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
       COUNT(*)
FROM update_status s JOIN (
    SELECT m.computer_id, m.group_id FROM computer_group_members m
    WHERE m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
    UNION ALL
    SELECT c.id, 'b73ca6ed-5727-47f3-84de-015e03f6a88a' FROM computers c
    WHERE NOT EXISTS (SELECT 1 FROM computer_group_members m WHERE m.computer_id = c.id
                      AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421',
                                             'b73ca6ed-5727-47f3-84de-015e03f6a88a'))
) g ON g.computer_id = s.computer_id
GROUP BY g.group_id, s.update_id;

-- The groups whose counts a computer's status rows go to: its explicit groups, or
-- "Unassigned Computers" when it has none.
CREATE VIEW computer_count_groups AS
SELECT m.computer_id, m.group_id FROM computer_group_members m
WHERE m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');

CREATE TRIGGER group_counts_status_insert AFTER INSERT ON update_status
BEGIN
    INSERT INTO group_update_counts (group_id, update_id)
    SELECT g.group_id, NEW.update_id FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id
    UNION ALL
    SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a', NEW.update_id
    WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id)
    ON CONFLICT (group_id, update_id) DO NOTHING;
    UPDATE group_update_counts SET
        unknown = unknown + (NEW.state = 'unknown'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        not_installed = not_installed + (NEW.state = 'not_installed'),
        downloaded = downloaded + (NEW.state = 'downloaded'),
        installed = installed + (NEW.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (NEW.state = 'installed_pending_reboot'),
        failed = failed + (NEW.state = 'failed'),
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    WHERE update_id = NEW.update_id AND group_id IN (
        SELECT g.group_id FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id
        UNION ALL
        SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
        WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id));
END;

-- Also fires for the cascade when a computer is deleted.
CREATE TRIGGER group_counts_status_delete AFTER DELETE ON update_status
BEGIN
    UPDATE group_update_counts SET
        unknown = unknown - (OLD.state = 'unknown'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        not_installed = not_installed - (OLD.state = 'not_installed'),
        downloaded = downloaded - (OLD.state = 'downloaded'),
        installed = installed - (OLD.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (OLD.state = 'installed_pending_reboot'),
        failed = failed - (OLD.state = 'failed'),
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    WHERE update_id = OLD.update_id AND group_id IN (
        SELECT g.group_id FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id
        UNION ALL
        SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
        WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id));
END;

-- Status rows change state (and, in principle, update); a computer id never changes.
CREATE TRIGGER group_counts_status_update AFTER UPDATE OF state, update_id ON update_status
WHEN OLD.state <> NEW.state OR OLD.update_id <> NEW.update_id
BEGIN
    UPDATE group_update_counts SET
        unknown = unknown - (OLD.state = 'unknown'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        not_installed = not_installed - (OLD.state = 'not_installed'),
        downloaded = downloaded - (OLD.state = 'downloaded'),
        installed = installed - (OLD.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (OLD.state = 'installed_pending_reboot'),
        failed = failed - (OLD.state = 'failed'),
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    WHERE update_id = OLD.update_id AND group_id IN (
        SELECT g.group_id FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id
        UNION ALL
        SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
        WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id));
    INSERT INTO group_update_counts (group_id, update_id)
    SELECT g.group_id, NEW.update_id FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id
    UNION ALL
    SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a', NEW.update_id
    WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id)
    ON CONFLICT (group_id, update_id) DO NOTHING;
    UPDATE group_update_counts SET
        unknown = unknown + (NEW.state = 'unknown'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        not_installed = not_installed + (NEW.state = 'not_installed'),
        downloaded = downloaded + (NEW.state = 'downloaded'),
        installed = installed + (NEW.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (NEW.state = 'installed_pending_reboot'),
        failed = failed + (NEW.state = 'failed'),
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    WHERE update_id = NEW.update_id AND group_id IN (
        SELECT g.group_id FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id
        UNION ALL
        SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
        WHERE NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id));
END;

-- A computer joining a group brings its status rows to the group's counts; joining its first
-- group takes them out of "Unassigned Computers". Each computer has one row per update.
CREATE TRIGGER group_counts_member_insert AFTER INSERT ON computer_group_members
WHEN NEW.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
BEGIN
    UPDATE group_update_counts SET
        unknown = unknown - (s.state = 'unknown'),
        not_applicable = not_applicable - (s.state = 'not_applicable'),
        not_installed = not_installed - (s.state = 'not_installed'),
        downloaded = downloaded - (s.state = 'downloaded'),
        installed = installed - (s.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (s.state = 'installed_pending_reboot'),
        failed = failed - (s.state = 'failed'),
        needed = needed - (s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    FROM update_status s
    WHERE s.computer_id = NEW.computer_id AND group_update_counts.update_id = s.update_id
      AND group_update_counts.group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
      AND (SELECT COUNT(*) FROM computer_count_groups g WHERE g.computer_id = NEW.computer_id) = 1;
    INSERT INTO group_update_counts (group_id, update_id)
    SELECT NEW.group_id, s.update_id FROM update_status s WHERE s.computer_id = NEW.computer_id
    ON CONFLICT (group_id, update_id) DO NOTHING;
    UPDATE group_update_counts SET
        unknown = unknown + (s.state = 'unknown'),
        not_applicable = not_applicable + (s.state = 'not_applicable'),
        not_installed = not_installed + (s.state = 'not_installed'),
        downloaded = downloaded + (s.state = 'downloaded'),
        installed = installed + (s.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (s.state = 'installed_pending_reboot'),
        failed = failed + (s.state = 'failed'),
        needed = needed + (s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    FROM update_status s
    WHERE s.computer_id = NEW.computer_id AND group_update_counts.update_id = s.update_id
      AND group_update_counts.group_id = NEW.group_id;
END;

-- Leaving a group takes the computer's status rows out of its counts; leaving its last group
-- brings them to "Unassigned Computers". Also fires for the cascades of deleting a computer or
-- a group.
CREATE TRIGGER group_counts_member_delete AFTER DELETE ON computer_group_members
WHEN OLD.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
BEGIN
    UPDATE group_update_counts SET
        unknown = unknown - (s.state = 'unknown'),
        not_applicable = not_applicable - (s.state = 'not_applicable'),
        not_installed = not_installed - (s.state = 'not_installed'),
        downloaded = downloaded - (s.state = 'downloaded'),
        installed = installed - (s.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (s.state = 'installed_pending_reboot'),
        failed = failed - (s.state = 'failed'),
        needed = needed - (s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    FROM update_status s
    WHERE s.computer_id = OLD.computer_id AND group_update_counts.update_id = s.update_id
      AND group_update_counts.group_id = OLD.group_id;
    INSERT INTO group_update_counts (group_id, update_id)
    SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a', s.update_id FROM update_status s
    WHERE s.computer_id = OLD.computer_id
      AND NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id)
    ON CONFLICT (group_id, update_id) DO NOTHING;
    UPDATE group_update_counts SET
        unknown = unknown + (s.state = 'unknown'),
        not_applicable = not_applicable + (s.state = 'not_applicable'),
        not_installed = not_installed + (s.state = 'not_installed'),
        downloaded = downloaded + (s.state = 'downloaded'),
        installed = installed + (s.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (s.state = 'installed_pending_reboot'),
        failed = failed + (s.state = 'failed'),
        needed = needed + (s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    FROM update_status s
    WHERE s.computer_id = OLD.computer_id AND group_update_counts.update_id = s.update_id
      AND group_update_counts.group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a'
      AND NOT EXISTS (SELECT 1 FROM computer_count_groups g WHERE g.computer_id = OLD.computer_id);
END;

-- A deleted computer's status rows go first, while its memberships still say which groups'
-- counts hold them (as in PostgreSQL, where the triggers of both cascades run after both).
CREATE TRIGGER group_counts_computer_delete BEFORE DELETE ON computers
BEGIN
    DELETE FROM update_status WHERE computer_id = OLD.id;
END;

-- A deleted group's counts go with it (its memberships' cascade has emptied them).
CREATE TRIGGER group_counts_group_delete AFTER DELETE ON computer_groups
BEGIN
    DELETE FROM group_update_counts WHERE group_id = OLD.id;
END;

-- Paging through computers by name (NULLs last) walks this index instead of sorting them all.
CREATE INDEX computers_listing ON computers ((dns_name IS NULL), dns_name, id);
