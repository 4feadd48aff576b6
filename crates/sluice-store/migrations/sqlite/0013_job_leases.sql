-- Several front ends on one database (issue #13): each background job (the sync scheduler,
-- the cleanup, the staged rollouts, the e-mail notifications) runs on one node at a time,
-- the one holding its lease. A holder renews its lease well before it expires; a crashed
-- node stops renewing and another takes the job over once `expires_ms` has passed.
-- SQLite flavour; keep in step with migrations/postgres/0013_job_leases.sql.
CREATE TABLE job_leases (
    name        TEXT   NOT NULL PRIMARY KEY,
    -- The node (a data directory) and the process that hold it: a restarted process of the
    -- same node takes its own lease over at once.
    node        TEXT   NOT NULL,
    holder      TEXT   NOT NULL,
    -- Unix milliseconds, from the holder's clock.
    expires_ms  BIGINT NOT NULL
);
