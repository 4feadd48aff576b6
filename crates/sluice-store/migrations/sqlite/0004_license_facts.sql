-- What approving an update and answering GetDeployments need to know about its license terms
-- and installation behaviour, derived from the update document once, when it is stored,
-- instead of by decompressing and parsing the document every time. SQLite flavour; keep
-- in step with migrations/postgres/0004_license_facts.sql.
--
-- Revisions stored before this migration have license_facts = FALSE: the server derives
-- their facts from the stored document once at startup (Catalog::derive_license_facts), in
-- committed batches, so an interrupted start resumes where it stopped.

-- The document's EulaID attribute as written (trimmed); NULL when it has none.
ALTER TABLE revisions ADD COLUMN eula_id TEXT;
-- The key the license acceptance is recorded under (eula_acceptances.eula_id): the EulaID
-- when it is a GUID, else one derived from the EULA files' SHA-1; NULL when the update
-- carries no license terms, or names a EulaID that is no GUID and ships no EULA file.
ALTER TABLE revisions ADD COLUMN eula_key TEXT;
-- Each EULA file as "name (language)", one per line; NULL when there is none.
ALTER TABLE revisions ADD COLUMN eula_files TEXT;
-- The installation may ask the user for input (CanRequestUserInput), so it cannot have a
-- deadline.
ALTER TABLE revisions ADD COLUMN needs_user_input BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether the four columns above were derived.
ALTER TABLE revisions ADD COLUMN license_facts BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX revisions_eula_key ON revisions (eula_key);
CREATE INDEX revisions_license_pending ON revisions (id) WHERE license_facts = FALSE;
