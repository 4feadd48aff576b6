-- The dashboard at fleet scale: per computer, how many updates it last reported as needed,
-- failed, installed and not applicable, kept by triggers on update_status so that "computers
-- needing updates" and each group's compliance read one row per computer instead of counting
-- millions of status rows. SQLite flavour; keep in step with
-- migrations/postgres/0011_computer_counts.sql. No foreign key: a computer's delete cascades
-- to its status rows, whose triggers must not recreate the row the delete trigger drops.

CREATE TABLE computer_counts (
    computer_id    TEXT   PRIMARY KEY,
    -- not_installed + downloaded + installed_pending_reboot + failed, as WSUS counts "Needed".
    needed         BIGINT NOT NULL DEFAULT 0,
    failed         BIGINT NOT NULL DEFAULT 0,
    installed      BIGINT NOT NULL DEFAULT 0,
    not_applicable BIGINT NOT NULL DEFAULT 0,
    total          BIGINT NOT NULL DEFAULT 0
);

INSERT INTO computer_counts (computer_id, needed, failed, installed, not_applicable, total)
SELECT computer_id,
       SUM(state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
       SUM(state = 'failed'), SUM(state = 'installed'), SUM(state = 'not_applicable'), COUNT(*)
FROM update_status GROUP BY computer_id;

CREATE TRIGGER computer_counts_insert AFTER INSERT ON update_status
BEGIN
    INSERT INTO computer_counts (computer_id) SELECT NEW.computer_id
        WHERE EXISTS (SELECT 1 FROM computers WHERE id = NEW.computer_id)
        ON CONFLICT (computer_id) DO NOTHING;
    UPDATE computer_counts SET
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        failed = failed + (NEW.state = 'failed'),
        installed = installed + (NEW.state = 'installed'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        total = total + 1
    WHERE computer_id = NEW.computer_id;
END;

CREATE TRIGGER computer_counts_delete AFTER DELETE ON update_status
BEGIN
    UPDATE computer_counts SET
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        failed = failed - (OLD.state = 'failed'),
        installed = installed - (OLD.state = 'installed'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        total = total - 1
    WHERE computer_id = OLD.computer_id;
END;

CREATE TRIGGER computer_counts_update AFTER UPDATE OF state, computer_id ON update_status
WHEN OLD.state <> NEW.state OR OLD.computer_id <> NEW.computer_id
BEGIN
    UPDATE computer_counts SET
        needed = needed - (OLD.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        failed = failed - (OLD.state = 'failed'),
        installed = installed - (OLD.state = 'installed'),
        not_applicable = not_applicable - (OLD.state = 'not_applicable'),
        total = total - 1
    WHERE computer_id = OLD.computer_id;
    INSERT INTO computer_counts (computer_id) SELECT NEW.computer_id
        WHERE EXISTS (SELECT 1 FROM computers WHERE id = NEW.computer_id)
        ON CONFLICT (computer_id) DO NOTHING;
    UPDATE computer_counts SET
        needed = needed + (NEW.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')),
        failed = failed + (NEW.state = 'failed'),
        installed = installed + (NEW.state = 'installed'),
        not_applicable = not_applicable + (NEW.state = 'not_applicable'),
        total = total + 1
    WHERE computer_id = NEW.computer_id;
END;

CREATE TRIGGER computer_counts_forget AFTER DELETE ON computers
BEGIN
    DELETE FROM computer_counts WHERE computer_id = OLD.id;
END;
