-- The dashboard at fleet scale: per computer, how many updates it last reported as needed,
-- failed, installed and not applicable, kept by a trigger on update_status so that "computers
-- needing updates" and each group's compliance read one row per computer instead of counting
-- millions of status rows. PostgreSQL flavour; keep in step with
-- migrations/sqlite/0011_computer_counts.sql. No foreign key: a computer's delete cascades
-- to its status rows, whose trigger must not recreate the row the delete trigger drops.

CREATE TABLE computer_counts (
    computer_id    TEXT COLLATE "C" PRIMARY KEY,
    -- not_installed + downloaded + installed_pending_reboot + failed, as WSUS counts "Needed".
    needed         BIGINT NOT NULL DEFAULT 0,
    failed         BIGINT NOT NULL DEFAULT 0,
    installed      BIGINT NOT NULL DEFAULT 0,
    not_applicable BIGINT NOT NULL DEFAULT 0,
    total          BIGINT NOT NULL DEFAULT 0
);

INSERT INTO computer_counts (computer_id, needed, failed, installed, not_applicable, total)
SELECT computer_id,
       COUNT(*) FILTER (WHERE state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
       COUNT(*) FILTER (WHERE state = 'failed'), COUNT(*) FILTER (WHERE state = 'installed'),
       COUNT(*) FILTER (WHERE state = 'not_applicable'), COUNT(*)
FROM update_status GROUP BY computer_id;

CREATE FUNCTION computer_counts_add(cid TEXT, st TEXT, d BIGINT) RETURNS VOID AS $$
BEGIN
    IF d > 0 THEN
        INSERT INTO computer_counts (computer_id) SELECT cid
            WHERE EXISTS (SELECT 1 FROM computers WHERE id = cid)
            ON CONFLICT (computer_id) DO NOTHING;
    END IF;
    UPDATE computer_counts SET
        needed = needed + CASE WHEN st IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')
            THEN d ELSE 0 END,
        failed = failed + CASE WHEN st = 'failed' THEN d ELSE 0 END,
        installed = installed + CASE WHEN st = 'installed' THEN d ELSE 0 END,
        not_applicable = not_applicable + CASE WHEN st = 'not_applicable' THEN d ELSE 0 END,
        total = total + d
    WHERE computer_id = cid;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION computer_status_count() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.computer_id = NEW.computer_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM computer_counts_add(OLD.computer_id, OLD.state, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM computer_counts_add(NEW.computer_id, NEW.state, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER computer_status_count AFTER INSERT OR UPDATE OR DELETE ON update_status
    FOR EACH ROW EXECUTE FUNCTION computer_status_count();

CREATE FUNCTION computer_counts_forget() RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM computer_counts WHERE computer_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER computer_counts_forget AFTER DELETE ON computers
    FOR EACH ROW EXECUTE FUNCTION computer_counts_forget();
