-- The console at fleet scale: per computer group, how many computers it has and how many of
-- them need updates, have failed installs or have reported, kept by triggers so that the
-- group tree, the group pickers and the dashboard read one row per group instead of joining
-- 100,000 computers on every page. PostgreSQL flavour; keep in step with
-- migrations/sqlite/0014_group_computer_counts.sql, which explains the rules.

CREATE TABLE group_computer_counts (
    group_id  TEXT COLLATE "C" PRIMARY KEY,
    computers BIGINT NOT NULL DEFAULT 0,
    needing   BIGINT NOT NULL DEFAULT 0,
    failed    BIGINT NOT NULL DEFAULT 0,
    reported  BIGINT NOT NULL DEFAULT 0
);

INSERT INTO group_computer_counts (group_id) SELECT id FROM computer_groups;
INSERT INTO group_computer_counts (group_id) VALUES ('a0a08746-4dbe-4a37-9adf-9e7652c0b421'), ('b73ca6ed-5727-47f3-84de-015e03f6a88a')
    ON CONFLICT (group_id) DO NOTHING;

-- A computer's standing: 1 or 0 for needing, failed and reported (0 without a counts row).
CREATE FUNCTION computer_standing(cid TEXT, OUT needing BIGINT, OUT failed BIGINT, OUT reported BIGINT) AS $$
    SELECT COALESCE(MAX(CASE WHEN cc.needed > 0 THEN 1 ELSE 0 END), 0),
           COALESCE(MAX(CASE WHEN cc.failed > 0 THEN 1 ELSE 0 END), 0),
           COALESCE(MAX(CASE WHEN cc.total > 0 THEN 1 ELSE 0 END), 0)
    FROM computer_counts cc WHERE cc.computer_id = cid
$$ LANGUAGE sql;

-- How many groups other than the two built-in ones a computer is a member of.
CREATE FUNCTION computer_real_groups(cid TEXT) RETURNS BIGINT AS $$
    SELECT COUNT(*) FROM computer_group_members m WHERE m.computer_id = cid
        AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
$$ LANGUAGE sql;

UPDATE group_computer_counts g SET computers = x.computers, needing = x.needing, failed = x.failed, reported = x.reported
FROM (SELECT m.group_id, COUNT(*) AS computers,
             COUNT(*) FILTER (WHERE cc.needed > 0) AS needing,
             COUNT(*) FILTER (WHERE cc.failed > 0) AS failed,
             COUNT(*) FILTER (WHERE cc.total > 0) AS reported
      FROM computer_group_members m LEFT JOIN computer_counts cc ON cc.computer_id = m.computer_id
      GROUP BY m.group_id) x
WHERE g.group_id = x.group_id
  AND g.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');

UPDATE group_computer_counts g SET computers = x.computers, needing = x.needing, failed = x.failed, reported = x.reported
FROM (SELECT COUNT(*) AS computers,
             COUNT(*) FILTER (WHERE cc.needed > 0) AS needing,
             COUNT(*) FILTER (WHERE cc.failed > 0) AS failed,
             COUNT(*) FILTER (WHERE cc.total > 0) AS reported
      FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id) x
WHERE g.group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421';

UPDATE group_computer_counts g SET computers = x.computers, needing = x.needing, failed = x.failed, reported = x.reported
FROM (SELECT COUNT(*) AS computers,
             COUNT(*) FILTER (WHERE cc.needed > 0) AS needing,
             COUNT(*) FILTER (WHERE cc.failed > 0) AS failed,
             COUNT(*) FILTER (WHERE cc.total > 0) AS reported
      FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id
      WHERE computer_real_groups(c.id) = 0) x
WHERE g.group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';

-- Moves a computer (with its standing) into (d = 1) or out of (d = -1) one group's counts.
CREATE FUNCTION group_computers_move(gid TEXT, d BIGINT, cid TEXT) RETURNS VOID AS $$
DECLARE s RECORD;
BEGIN
    SELECT * INTO s FROM computer_standing(cid);
    UPDATE group_computer_counts SET computers = computers + d, needing = needing + d * s.needing,
        failed = failed + d * s.failed, reported = reported + d * s.reported
    WHERE group_id = gid;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION group_computers_groups() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO group_computer_counts (group_id) VALUES (NEW.id) ON CONFLICT (group_id) DO NOTHING;
    ELSE
        DELETE FROM group_computer_counts WHERE group_id = OLD.id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_computers_groups AFTER INSERT OR DELETE ON computer_groups
    FOR EACH ROW EXECUTE FUNCTION group_computers_groups();

CREATE FUNCTION group_computers_computers() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new computer is in no group yet.
        UPDATE group_computer_counts SET computers = computers + 1
        WHERE group_id IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a');
    ELSE
        PERFORM group_computers_move('a0a08746-4dbe-4a37-9adf-9e7652c0b421', -1, OLD.id);
        IF computer_real_groups(OLD.id) = 0 THEN
            PERFORM group_computers_move('b73ca6ed-5727-47f3-84de-015e03f6a88a', -1, OLD.id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_computers_computers AFTER INSERT OR DELETE ON computers
    FOR EACH ROW EXECUTE FUNCTION group_computers_computers();

-- Memberships per statement, not per row: PostgreSQL fires row triggers at the end of the
-- statement, so a row trigger deleting one of a computer's two memberships would already see
-- both gone and count the computer into "Unassigned Computers" twice.
CREATE FUNCTION group_computers_members_added() RETURNS TRIGGER AS $$
BEGIN
    UPDATE group_computer_counts g SET computers = g.computers + x.n, needing = g.needing + x.needing,
        failed = g.failed + x.failed, reported = g.reported + x.reported
    FROM (SELECT a.group_id, COUNT(*) AS n, SUM(s.needing) AS needing, SUM(s.failed) AS failed, SUM(s.reported) AS reported
          FROM added a CROSS JOIN LATERAL computer_standing(a.computer_id) s
          WHERE a.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
          GROUP BY a.group_id) x
    WHERE g.group_id = x.group_id;
    -- Computers whose first such memberships these are leave "Unassigned Computers".
    UPDATE group_computer_counts g SET computers = g.computers - x.n, needing = g.needing - x.needing,
        failed = g.failed - x.failed, reported = g.reported - x.reported
    FROM (SELECT COUNT(*) AS n, COALESCE(SUM(s.needing), 0) AS needing, COALESCE(SUM(s.failed), 0) AS failed,
                 COALESCE(SUM(s.reported), 0) AS reported
          FROM (SELECT a.computer_id, COUNT(*) AS k FROM added a
                WHERE a.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
                GROUP BY a.computer_id) c
          CROSS JOIN LATERAL computer_standing(c.computer_id) s
          WHERE EXISTS (SELECT 1 FROM computers WHERE id = c.computer_id) AND computer_real_groups(c.computer_id) = c.k) x
    WHERE g.group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION group_computers_members_removed() RETURNS TRIGGER AS $$
BEGIN
    UPDATE group_computer_counts g SET computers = g.computers - x.n, needing = g.needing - x.needing,
        failed = g.failed - x.failed, reported = g.reported - x.reported
    FROM (SELECT r.group_id, COUNT(*) AS n, SUM(s.needing) AS needing, SUM(s.failed) AS failed, SUM(s.reported) AS reported
          FROM removed r CROSS JOIN LATERAL computer_standing(r.computer_id) s
          WHERE r.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')
          GROUP BY r.group_id) x
    WHERE g.group_id = x.group_id;
    -- Computers (not being deleted) left without such a membership are back in "Unassigned
    -- Computers".
    UPDATE group_computer_counts g SET computers = g.computers + x.n, needing = g.needing + x.needing,
        failed = g.failed + x.failed, reported = g.reported + x.reported
    FROM (SELECT COUNT(*) AS n, COALESCE(SUM(s.needing), 0) AS needing, COALESCE(SUM(s.failed), 0) AS failed,
                 COALESCE(SUM(s.reported), 0) AS reported
          FROM (SELECT DISTINCT r.computer_id FROM removed r
                WHERE r.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')) c
          CROSS JOIN LATERAL computer_standing(c.computer_id) s
          WHERE EXISTS (SELECT 1 FROM computers WHERE id = c.computer_id) AND computer_real_groups(c.computer_id) = 0) x
    WHERE g.group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_computers_members_added AFTER INSERT ON computer_group_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION group_computers_members_added();
CREATE TRIGGER group_computers_members_removed AFTER DELETE ON computer_group_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION group_computers_members_removed();

-- A computer's standing changed (or went away with its row): every group it counts in
-- follows; the built-in groups only while the computer exists.
CREATE FUNCTION group_computers_standing() RETURNS TRIGGER AS $$
DECLARE dn BIGINT; df BIGINT; dr BIGINT; cid TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        cid := NEW.computer_id;
        dn := (NEW.needed > 0)::int - (OLD.needed > 0)::int;
        df := (NEW.failed > 0)::int - (OLD.failed > 0)::int;
        dr := (NEW.total > 0)::int - (OLD.total > 0)::int;
    ELSE
        cid := OLD.computer_id;
        dn := -(OLD.needed > 0)::int;
        df := -(OLD.failed > 0)::int;
        dr := -(OLD.total > 0)::int;
    END IF;
    IF dn = 0 AND df = 0 AND dr = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE group_computer_counts SET needing = needing + dn, failed = failed + df, reported = reported + dr
    WHERE group_id IN (SELECT m.group_id FROM computer_group_members m WHERE m.computer_id = cid
            AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))
       OR (EXISTS (SELECT 1 FROM computers WHERE id = cid) AND (
            group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421'
            OR (group_id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND computer_real_groups(cid) = 0)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER group_computers_standing AFTER UPDATE OR DELETE ON computer_counts
    FOR EACH ROW EXECUTE FUNCTION group_computers_standing();
