-- Compliance of one computer group at fleet scale: per group and update, how many of the
-- group's computers last reported each state, kept like update_counts so that a group's
-- compliance report reads one row per update instead of aggregating its members' status rows.
-- A group's computers are its explicit members; "Unassigned Computers" (its own rows, under
-- its built-in id) holds the computers in no group but the two built-in ones. PostgreSQL
-- flavour; keep in step with migrations/sqlite/0010_group_update_counts.sql.

CREATE TABLE group_update_counts (
    group_id                 TEXT COLLATE "C" NOT NULL,
    update_id                TEXT COLLATE "C" NOT NULL,
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
-- Room for the new row versions of status reports' count updates, so they stay heap-only.
) WITH (fillfactor = 80);

INSERT INTO group_update_counts (group_id, update_id, unknown, not_applicable, not_installed,
                                 downloaded, installed, installed_pending_reboot, failed, needed,
                                 total)
SELECT g.group_id, s.update_id,
       COUNT(*) FILTER (WHERE s.state = 'unknown'), COUNT(*) FILTER (WHERE s.state = 'not_applicable'),
       COUNT(*) FILTER (WHERE s.state = 'not_installed'), COUNT(*) FILTER (WHERE s.state = 'downloaded'),
       COUNT(*) FILTER (WHERE s.state = 'installed'),
       COUNT(*) FILTER (WHERE s.state = 'installed_pending_reboot'),
       COUNT(*) FILTER (WHERE s.state = 'failed'),
       COUNT(*) FILTER (WHERE s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
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

-- One status row of a computer added to (d = 1) or taken from (d = -1) the counts of the
-- groups it goes to: the computer's explicit groups, or "Unassigned Computers" when it has
-- none. One statement, as it runs for every status report.
CREATE FUNCTION group_counts_add(cid TEXT, uid TEXT, st TEXT, d BIGINT) RETURNS VOID AS $$
BEGIN
    INSERT INTO group_update_counts AS k (group_id, update_id, unknown, not_applicable,
        not_installed, downloaded, installed, installed_pending_reboot, failed, needed, total)
    SELECT COALESCE(m.group_id, 'b73ca6ed-5727-47f3-84de-015e03f6a88a'), uid,
           CASE WHEN st = 'unknown' THEN d ELSE 0 END,
           CASE WHEN st = 'not_applicable' THEN d ELSE 0 END,
           CASE WHEN st = 'not_installed' THEN d ELSE 0 END,
           CASE WHEN st = 'downloaded' THEN d ELSE 0 END,
           CASE WHEN st = 'installed' THEN d ELSE 0 END,
           CASE WHEN st = 'installed_pending_reboot' THEN d ELSE 0 END,
           CASE WHEN st = 'failed' THEN d ELSE 0 END,
           CASE WHEN st IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed') THEN d ELSE 0 END,
           d
    FROM (SELECT 1) one LEFT JOIN computer_group_members m ON m.computer_id = cid
        AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
    ON CONFLICT (group_id, update_id) DO UPDATE SET
        unknown = k.unknown + excluded.unknown,
        not_applicable = k.not_applicable + excluded.not_applicable,
        not_installed = k.not_installed + excluded.not_installed,
        downloaded = k.downloaded + excluded.downloaded,
        installed = k.installed + excluded.installed,
        installed_pending_reboot = k.installed_pending_reboot + excluded.installed_pending_reboot,
        failed = k.failed + excluded.failed,
        needed = k.needed + excluded.needed,
        total = k.total + excluded.total;
END;
$$ LANGUAGE plpgsql;

-- Also fires for the cascade when a computer is deleted.
CREATE FUNCTION group_counts_status() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.update_id = NEW.update_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM group_counts_add(OLD.computer_id, OLD.update_id, OLD.state, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM group_counts_add(NEW.computer_id, NEW.update_id, NEW.state, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_counts_status AFTER INSERT OR UPDATE OR DELETE ON update_status
    FOR EACH ROW EXECUTE FUNCTION group_counts_status();

-- All status rows of one computer added to (d = 1) or taken from (d = -1) one group's counts.
-- Each computer has one row per update.
CREATE FUNCTION group_counts_computer(gid TEXT, cid TEXT, d BIGINT) RETURNS VOID AS $$
BEGIN
    INSERT INTO group_update_counts (group_id, update_id)
    SELECT gid, s.update_id FROM update_status s WHERE s.computer_id = cid
    ON CONFLICT (group_id, update_id) DO NOTHING;
    UPDATE group_update_counts k SET
        unknown = k.unknown + CASE WHEN s.state = 'unknown' THEN d ELSE 0 END,
        not_applicable = k.not_applicable + CASE WHEN s.state = 'not_applicable' THEN d ELSE 0 END,
        not_installed = k.not_installed + CASE WHEN s.state = 'not_installed' THEN d ELSE 0 END,
        downloaded = k.downloaded + CASE WHEN s.state = 'downloaded' THEN d ELSE 0 END,
        installed = k.installed + CASE WHEN s.state = 'installed' THEN d ELSE 0 END,
        installed_pending_reboot = k.installed_pending_reboot
            + CASE WHEN s.state = 'installed_pending_reboot' THEN d ELSE 0 END,
        failed = k.failed + CASE WHEN s.state = 'failed' THEN d ELSE 0 END,
        needed = k.needed + CASE WHEN s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')
            THEN d ELSE 0 END,
        total = k.total + d
    FROM update_status s
    WHERE s.computer_id = cid AND k.group_id = gid AND k.update_id = s.update_id;
END;
$$ LANGUAGE plpgsql;

-- A computer joining a group brings its status rows to the group's counts; joining its first
-- group takes them out of "Unassigned Computers". Leaving does the reverse. Statement triggers
-- over the changed rows, because one statement can change several memberships of the same
-- computer (moving it, or the cascade of deleting it) and a row trigger, run at the end of the
-- statement, would see them all gone. Also fires for the cascades of deleting a computer or a
-- group.
CREATE FUNCTION group_counts_members_added() RETURNS TRIGGER AS $$
BEGIN
    PERFORM group_counts_computer('b73ca6ed-5727-47f3-84de-015e03f6a88a', c.computer_id, -1)
    FROM (SELECT DISTINCT n.computer_id FROM added n
          WHERE n.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
            AND NOT EXISTS (
                SELECT 1 FROM computer_group_members m WHERE m.computer_id = n.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
                AND NOT EXISTS (SELECT 1 FROM added n2
                                WHERE n2.computer_id = m.computer_id AND n2.group_id = m.group_id))) c;
    PERFORM group_counts_computer(n.group_id, n.computer_id, 1) FROM added n
    WHERE n.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION group_counts_members_removed() RETURNS TRIGGER AS $$
BEGIN
    PERFORM group_counts_computer(o.group_id, o.computer_id, -1) FROM removed o
    WHERE o.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');
    PERFORM group_counts_computer('b73ca6ed-5727-47f3-84de-015e03f6a88a', c.computer_id, 1)
    FROM (SELECT DISTINCT o.computer_id FROM removed o
          WHERE o.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
            AND NOT EXISTS (
                SELECT 1 FROM computer_group_members m WHERE m.computer_id = o.computer_id
                AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))) c;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_counts_members_added AFTER INSERT ON computer_group_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION group_counts_members_added();
CREATE TRIGGER group_counts_members_removed AFTER DELETE ON computer_group_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION group_counts_members_removed();

-- A deleted computer's status rows go first, while its memberships still say which groups'
-- counts hold them: PostgreSQL runs the triggers of both cascades only after both are done.
CREATE FUNCTION group_counts_computer_delete() RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM update_status WHERE computer_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_counts_computer_delete BEFORE DELETE ON computers
    FOR EACH ROW EXECUTE FUNCTION group_counts_computer_delete();

-- A deleted group's counts go with it (its memberships' cascade has emptied them).
CREATE FUNCTION group_counts_group_delete() RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM group_update_counts WHERE group_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_counts_group_delete AFTER DELETE ON computer_groups
    FOR EACH ROW EXECUTE FUNCTION group_counts_group_delete();

-- Paging through computers by name (NULLs last) walks this index instead of sorting them all.
CREATE INDEX computers_listing ON computers ((dns_name IS NULL), dns_name, id);
