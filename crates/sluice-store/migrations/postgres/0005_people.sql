-- People and roles (issue 10, item 1). PostgreSQL flavour; keep in step with
-- migrations/sqlite/0005_people.sql.

-- A disabled user cannot log in, and none of its tokens authenticate; it keeps its tokens and
-- its name (the audit log names it) until enabled again or deleted.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- After this time the token no longer authenticates; NULL: it never expires.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT COLLATE "C";
-- 'api': made on request (`sluice tokens create`, the bootstrap token); 'session': made by a
-- console login (POST /login), always with an expiry.
ALTER TABLE api_tokens ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'api';
-- `sluice audit --user U`.
CREATE INDEX audit_log_actor ON audit_log (actor, id);
