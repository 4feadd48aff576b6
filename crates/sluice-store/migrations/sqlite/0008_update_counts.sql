-- Finding updates and compliance reports at fleet scale (100,000 computers): per update, how
-- many computers last reported each state, kept by triggers on update_status so that "needed
-- by at least N computers" and the fleet-wide compliance report read one row per update
-- instead of counting millions of status rows. SQLite flavour; keep in step with
-- migrations/postgres/0008_update_counts.sql.

CREATE TABLE update_counts (
    update_id                TEXT   PRIMARY KEY,
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
       SUM(state = 'unknown'), SUM(state = 'not_applicable'), SUM(state = 'not_installed'),
       SUM(state = 'downloaded'), SUM(state = 'installed'), SUM(state = 'installed_pending_reboot'),
       SUM(state = 'failed'),
       SUM(state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
       COUNT(*)
FROM update_status GROUP BY update_id;

CREATE TRIGGER update_status_count_insert AFTER INSERT ON update_status
BEGIN
    INSERT INTO update_counts (update_id) VALUES (NEW.update_id) ON CONFLICT (update_id) DO NOTHING;
    UPDATE update_counts SET
        unknown = unknown + (NEW.state = 'unknown'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        not_installed = not_installed + (NEW.state = 'not_installed'),
        downloaded = downloaded + (NEW.state = 'downloaded'),
        installed = installed + (NEW.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (NEW.state = 'installed_pending_reboot'),
        failed = failed + (NEW.state = 'failed'),
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    WHERE update_id = NEW.update_id;
END;

-- Also fires for the cascade when a computer is deleted.
CREATE TRIGGER update_status_count_delete AFTER DELETE ON update_status
BEGIN
    UPDATE update_counts SET
        unknown = unknown - (OLD.state = 'unknown'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        not_installed = not_installed - (OLD.state = 'not_installed'),
        downloaded = downloaded - (OLD.state = 'downloaded'),
        installed = installed - (OLD.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (OLD.state = 'installed_pending_reboot'),
        failed = failed - (OLD.state = 'failed'),
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    WHERE update_id = OLD.update_id;
END;

CREATE TRIGGER update_status_count_update AFTER UPDATE OF state, update_id ON update_status
WHEN OLD.state <> NEW.state OR OLD.update_id <> NEW.update_id
BEGIN
    UPDATE update_counts SET
        unknown = unknown - (OLD.state = 'unknown'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        not_installed = not_installed - (OLD.state = 'not_installed'),
        downloaded = downloaded - (OLD.state = 'downloaded'),
        installed = installed - (OLD.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot - (OLD.state = 'installed_pending_reboot'),
        failed = failed - (OLD.state = 'failed'),
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total - 1
    WHERE update_id = OLD.update_id;
    INSERT INTO update_counts (update_id) VALUES (NEW.update_id) ON CONFLICT (update_id) DO NOTHING;
    UPDATE update_counts SET
        unknown = unknown + (NEW.state = 'unknown'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        not_installed = not_installed + (NEW.state = 'not_installed'),
        downloaded = downloaded + (NEW.state = 'downloaded'),
        installed = installed + (NEW.state = 'installed'),
        installed_pending_reboot = installed_pending_reboot + (NEW.state = 'installed_pending_reboot'),
        failed = failed + (NEW.state = 'failed'),
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        total = total + 1
    WHERE update_id = NEW.update_id;
END;

-- Filters of the update listing. The listing's count reads every update's latest revision:
-- this index holds what its filters and the "latest revision" test read, so counting scans
-- it instead of the revisions with their stored documents.
CREATE INDEX revisions_msrc_severity ON revisions (msrc_severity);
CREATE INDEX revisions_listing ON revisions (update_id, revision_number, update_type, creation_date,
                                            classification, msrc_severity, publication_state, kb_article);
-- Compliance of one group: its members' status rows.
CREATE INDEX update_status_computer ON update_status (computer_id, update_id, state);
