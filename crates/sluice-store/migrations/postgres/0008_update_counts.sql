-- Finding updates and compliance reports at fleet scale (100,000 computers): per update, how
-- many computers last reported each state, kept by a trigger on update_status so that "needed
-- by at least N computers" and the fleet-wide compliance report read one row per update
-- instead of counting millions of status rows. PostgreSQL flavour; keep in step with
-- migrations/sqlite/0008_update_counts.sql.

CREATE TABLE update_counts (
    update_id                TEXT COLLATE "C" PRIMARY KEY,
    unknown                  BIGINT NOT NULL DEFAULT 0,
    not_applicable           BIGINT NOT NULL DEFAULT 0,
    not_installed            BIGINT NOT NULL DEFAULT 0,
    downloaded               BIGINT NOT NULL DEFAULT 0,
    installed                BIGINT NOT NULL DEFAULT 0,
    installed_pending_reboot BIGINT NOT NULL DEFAULT 0,
    failed                   BIGINT NOT NULL DEFAULT 0,
    -- not_installed + downloaded + installed_pending_reboot + failed, as WSUS counts "Needed".
    needed                   BIGINT NOT NULL DEFAULT 0,
    total                    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX update_counts_needed ON update_counts (needed);
CREATE INDEX update_counts_failed ON update_counts (failed);

INSERT INTO update_counts (update_id, unknown, not_applicable, not_installed, downloaded,
                           installed, installed_pending_reboot, failed, needed, total)
SELECT update_id,
       COUNT(*) FILTER (WHERE state = 'unknown'), COUNT(*) FILTER (WHERE state = 'not_applicable'),
       COUNT(*) FILTER (WHERE state = 'not_installed'), COUNT(*) FILTER (WHERE state = 'downloaded'),
       COUNT(*) FILTER (WHERE state = 'installed'),
       COUNT(*) FILTER (WHERE state = 'installed_pending_reboot'),
       COUNT(*) FILTER (WHERE state = 'failed'),
       COUNT(*) FILTER (WHERE state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
       COUNT(*)
FROM update_status GROUP BY update_id;

CREATE FUNCTION update_counts_add(uid TEXT, st TEXT, d BIGINT) RETURNS VOID AS $$
BEGIN
    INSERT INTO update_counts (update_id) VALUES (uid) ON CONFLICT (update_id) DO NOTHING;
    UPDATE update_counts SET
        unknown = unknown + CASE WHEN st = 'unknown' THEN d ELSE 0 END,
        not_applicable = not_applicable + CASE WHEN st = 'not_applicable' THEN d ELSE 0 END,
        not_installed = not_installed + CASE WHEN st = 'not_installed' THEN d ELSE 0 END,
        downloaded = downloaded + CASE WHEN st = 'downloaded' THEN d ELSE 0 END,
        installed = installed + CASE WHEN st = 'installed' THEN d ELSE 0 END,
        installed_pending_reboot = installed_pending_reboot
            + CASE WHEN st = 'installed_pending_reboot' THEN d ELSE 0 END,
        failed = failed + CASE WHEN st = 'failed' THEN d ELSE 0 END,
        needed = needed + CASE WHEN st IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')
            THEN d ELSE 0 END,
        total = total + d
    WHERE update_id = uid;
END;
$$ LANGUAGE plpgsql;

-- Also fires for the cascade when a computer is deleted.
CREATE FUNCTION update_status_count() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.update_id = NEW.update_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM update_counts_add(OLD.update_id, OLD.state, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM update_counts_add(NEW.update_id, NEW.state, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_status_count AFTER INSERT OR UPDATE OR DELETE ON update_status
    FOR EACH ROW EXECUTE FUNCTION update_status_count();

-- Filters of the update listing. The listing's count reads every update's latest revision:
-- this index holds what its filters and the "latest revision" test read, so counting scans
-- it instead of the revisions with their stored documents.
CREATE INDEX revisions_msrc_severity ON revisions (msrc_severity);
CREATE INDEX revisions_listing ON revisions (update_id, revision_number, update_type, creation_date,
                                            classification, msrc_severity, publication_state, kb_article);
-- Compliance of one group: its members' status rows.
CREATE INDEX update_status_computer ON update_status (computer_id, update_id, state);
