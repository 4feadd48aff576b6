-- The update listing at fleet scale (25,000 updates and more): one narrow row per update with
-- what `GET /updates` filters, sorts and shows, so counting and ordering never read the wide
-- revision rows (which hold the compressed document). Triggers keep it in step with
-- revisions, supersedence, declines, approvals and the per-update status counts, in the same
-- transaction as the change. PostgreSQL flavour; keep in step with
-- migrations/sqlite/0009_update_listing.sql.

CREATE TABLE update_listing (
    update_id         TEXT COLLATE "C" PRIMARY KEY,
    -- The latest (highest-numbered) revision of the update.
    revision_id       BIGINT  NOT NULL UNIQUE,
    revision_number   INTEGER NOT NULL,
    update_type       TEXT COLLATE "C" NOT NULL,
    title             TEXT COLLATE "C" NOT NULL,
    description       TEXT COLLATE "C",
    kb_article        TEXT COLLATE "C",
    msrc_severity     TEXT COLLATE "C",
    classification    TEXT COLLATE "C",
    publication_state TEXT COLLATE "C" NOT NULL,
    creation_date     TEXT COLLATE "C",
    -- Some revision of any update supersedes this one.
    superseded        BOOLEAN NOT NULL DEFAULT FALSE,
    declined          BOOLEAN NOT NULL DEFAULT FALSE,
    -- Some group has an approval other than "not approved".
    approved          BOOLEAN NOT NULL DEFAULT FALSE,
    -- From update_counts: computers needing it, failing it, with it installed (pending reboot
    -- included).
    needed            BIGINT  NOT NULL DEFAULT 0,
    failed            BIGINT  NOT NULL DEFAULT 0,
    installed         BIGINT  NOT NULL DEFAULT 0
-- Room in each page for the new row versions of the count updates that every status report
-- brings, so they stay heap-only (no new index entries).
) WITH (fillfactor = 80);
-- One index per sort of the listing (the revision id breaks ties), so a page is read in
-- order instead of sorting every update; the type is there so the category test is answered
-- from the index. Unlike SQLite (which updates only the indexes of changed columns), no index
-- holds the counts: one would turn every count update into new entries in every index, and
-- sorting or filtering 30,000 narrow rows by count takes milliseconds.
CREATE INDEX update_listing_release ON update_listing (creation_date DESC NULLS LAST, title, revision_id, update_type);
CREATE INDEX update_listing_title ON update_listing (title, revision_id, update_type);
CREATE INDEX update_listing_kb ON update_listing (kb_article);
CREATE INDEX update_listing_classification ON update_listing (classification);

INSERT INTO update_listing (update_id, revision_id, revision_number, update_type, title,
                            description, kb_article, msrc_severity, classification,
                            publication_state, creation_date, superseded, declined, approved,
                            needed, failed, installed)
SELECT r.update_id, r.id, r.revision_number, r.update_type, r.title, r.description, r.kb_article,
       r.msrc_severity, r.classification, r.publication_state, r.creation_date,
       EXISTS (SELECT 1 FROM revision_relationships s
               WHERE s.target_update_id = r.update_id AND s.kind = 'superseded'),
       EXISTS (SELECT 1 FROM declined_updates d WHERE d.update_id = r.update_id),
       EXISTS (SELECT 1 FROM approvals a WHERE a.update_id = r.update_id AND a.action <> 'not_approved'),
       COALESCE(k.needed, 0), COALESCE(k.failed, 0),
       COALESCE(k.installed, 0) + COALESCE(k.installed_pending_reboot, 0)
FROM revisions r LEFT JOIN update_counts k ON k.update_id = r.update_id
WHERE r.revision_number = (SELECT MAX(r2.revision_number) FROM revisions r2 WHERE r2.update_id = r.update_id);

-- Revisions are never changed in what the listing holds (only their license facts are), so a
-- new revision is the only change to follow; an older revision arriving late is ignored.
CREATE FUNCTION update_listing_revision() RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO update_listing AS l (update_id, revision_id, revision_number, update_type, title,
                                     description, kb_article, msrc_severity, classification,
                                     publication_state, creation_date, superseded, declined,
                                     approved, needed, failed, installed)
    SELECT NEW.update_id, NEW.id, NEW.revision_number, NEW.update_type, NEW.title, NEW.description,
           NEW.kb_article, NEW.msrc_severity, NEW.classification, NEW.publication_state,
           NEW.creation_date,
           EXISTS (SELECT 1 FROM revision_relationships s
                   WHERE s.target_update_id = NEW.update_id AND s.kind = 'superseded'),
           EXISTS (SELECT 1 FROM declined_updates d WHERE d.update_id = NEW.update_id),
           EXISTS (SELECT 1 FROM approvals a WHERE a.update_id = NEW.update_id AND a.action <> 'not_approved'),
           COALESCE(k.needed, 0), COALESCE(k.failed, 0),
           COALESCE(k.installed, 0) + COALESCE(k.installed_pending_reboot, 0)
    FROM (SELECT 1) one LEFT JOIN update_counts k ON k.update_id = NEW.update_id
    ON CONFLICT (update_id) DO UPDATE SET
        revision_id = excluded.revision_id, revision_number = excluded.revision_number,
        update_type = excluded.update_type, title = excluded.title,
        description = excluded.description, kb_article = excluded.kb_article,
        msrc_severity = excluded.msrc_severity, classification = excluded.classification,
        publication_state = excluded.publication_state, creation_date = excluded.creation_date
    WHERE l.revision_number < excluded.revision_number;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_listing_revision AFTER INSERT ON revisions
    FOR EACH ROW EXECUTE FUNCTION update_listing_revision();

CREATE FUNCTION update_listing_superseded() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE update_listing SET superseded = TRUE
        WHERE update_id = NEW.target_update_id AND NOT superseded;
    ELSE
        UPDATE update_listing SET superseded = EXISTS (
            SELECT 1 FROM revision_relationships s WHERE s.target_update_id = OLD.target_update_id
            AND s.kind = 'superseded')
        WHERE update_id = OLD.target_update_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_listing_superseded_insert AFTER INSERT ON revision_relationships
    FOR EACH ROW WHEN (NEW.kind = 'superseded') EXECUTE FUNCTION update_listing_superseded();
CREATE TRIGGER update_listing_superseded_delete AFTER DELETE ON revision_relationships
    FOR EACH ROW WHEN (OLD.kind = 'superseded') EXECUTE FUNCTION update_listing_superseded();

CREATE FUNCTION update_listing_declined() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE update_listing SET declined = TRUE WHERE update_id = NEW.update_id;
    ELSE
        UPDATE update_listing SET declined = FALSE WHERE update_id = OLD.update_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_listing_declined AFTER INSERT OR DELETE ON declined_updates
    FOR EACH ROW EXECUTE FUNCTION update_listing_declined();

-- Also fires for the cascade when a group is deleted.
CREATE FUNCTION update_listing_approval() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE update_listing SET approved = EXISTS (
            SELECT 1 FROM approvals a WHERE a.update_id = OLD.update_id AND a.action <> 'not_approved')
        WHERE update_id = OLD.update_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE update_listing SET approved = EXISTS (
            SELECT 1 FROM approvals a WHERE a.update_id = NEW.update_id AND a.action <> 'not_approved')
        WHERE update_id = NEW.update_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_listing_approval AFTER INSERT OR UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION update_listing_approval();

-- The status trigger of update_counts inserts a row of zeros, then adds to it.
CREATE FUNCTION update_listing_counts() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE update_listing SET needed = 0, failed = 0, installed = 0 WHERE update_id = OLD.update_id;
    ELSE
        UPDATE update_listing SET needed = NEW.needed, failed = NEW.failed,
            installed = NEW.installed + NEW.installed_pending_reboot
        WHERE update_id = NEW.update_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_listing_counts_insert AFTER INSERT OR DELETE ON update_counts
    FOR EACH ROW EXECUTE FUNCTION update_listing_counts();
CREATE TRIGGER update_listing_counts_update AFTER UPDATE ON update_counts
    FOR EACH ROW WHEN (OLD.needed <> NEW.needed OR OLD.failed <> NEW.failed
                       OR OLD.installed + OLD.installed_pending_reboot
                          <> NEW.installed + NEW.installed_pending_reboot)
    EXECUTE FUNCTION update_listing_counts();
