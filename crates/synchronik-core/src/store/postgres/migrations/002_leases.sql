-- synchronik PostgreSQL schema, version 2: leases (which node fires a
-- unit's schedule, which node does the maintenance) and delayed tasks.
-- Leases are short-lived and renewed every few seconds: not worth the
-- write-ahead log (unlogged; after a crash of the server they are simply
-- taken again).
CREATE UNLOGGED TABLE {schema}.leases (
    name text PRIMARY KEY,
    node text NOT NULL,
    expires_at timestamptz NOT NULL
);
ALTER TABLE {schema}.tasks ADD COLUMN run_at_ms double precision;
