-- Automatic approval rules (WSUS's Options › Automatic Approvals) and staged rollouts: plans
-- of rings (computer groups with a soak time each) and the updates moving through them.
-- SQLite flavour; keep in step with migrations/postgres/0006_automatic_approval.sql.

CREATE TABLE rollout_plans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    -- JSON array of {"group_id": "<uuid>", "soak_secs": N}, in ring order. A group deleted
    -- later stays named here; evaluating the rollout reports it.
    rings          TEXT    NOT NULL,
    -- Failed / (Installed + Failed) allowed per ring, in basis points (500 = 5 %).
    max_failure_bp INTEGER NOT NULL CHECK (max_failure_bp BETWEEN 0 AND 10000),
    created_by     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL
);

CREATE TABLE approval_rules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    enabled         BOOLEAN NOT NULL,
    -- JSON arrays of category ids and group ids; empty criteria = any.
    classifications TEXT    NOT NULL,
    products        TEXT    NOT NULL,
    group_ids       TEXT    NOT NULL,
    -- A rule approves for its groups, or puts updates on this plan instead.
    plan_id         INTEGER REFERENCES rollout_plans (id),
    deadline_days   INTEGER,
    -- Minutes after midnight UTC.
    deadline_minute INTEGER,
    -- Who created or last changed the rule: the administrator on whose behalf it approves and
    -- accepts license terms.
    owner           TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

CREATE TABLE rollouts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id         INTEGER NOT NULL REFERENCES rollout_plans (id) ON DELETE CASCADE,
    update_id       TEXT    NOT NULL,
    -- Index of the current ring in the plan (0 = the first).
    ring            INTEGER NOT NULL,
    ring_started_at TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('running', 'halted', 'completed', 'aborted')),
    reason          TEXT,
    started_by      TEXT    NOT NULL,
    started_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX rollouts_update ON rollouts (update_id);
CREATE INDEX rollouts_state ON rollouts (state);
