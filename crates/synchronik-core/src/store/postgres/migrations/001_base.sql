-- synchronik PostgreSQL schema, version 1: nodes, unit state, durable
-- tasks and the history of attempts. `{schema}` is the schema's quoted name.
CREATE TABLE {schema}.meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO {schema}.meta (key, value) VALUES ('application', 'synchronik');
CREATE TABLE {schema}.nodes (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {schema}.units (
    id text PRIMARY KEY,
    status text NOT NULL,
    enabled boolean NOT NULL,
    run_count bigint NOT NULL,
    execution_times text NOT NULL,
    last_run_ms double precision,
    meta text,
    last_fire_ms double precision
);
CREATE TABLE {schema}.tasks (
    key text PRIMARY KEY,
    pool text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    handler text NOT NULL,
    payload text,
    priority double precision NOT NULL,
    seq bigserial NOT NULL,
    arrangement bigint NOT NULL,
    attempt integer NOT NULL DEFAULT 0,
    status text NOT NULL,
    -- The node that holds it (claimed, running); NULL: any node may claim it.
    node text,
    -- The node that added it.
    origin text
);
CREATE INDEX tasks_claim ON {schema}.tasks (pool, priority DESC, seq) WHERE node IS NULL;
CREATE INDEX tasks_by_node ON {schema}.tasks (node) WHERE node IS NOT NULL;
CREATE TABLE {schema}.history (
    id bigserial PRIMARY KEY,
    node text,
    unit_id text NOT NULL,
    task_key text,
    task_name text,
    pool text,
    attempt integer NOT NULL,
    started_ms double precision NOT NULL,
    ended_ms double precision NOT NULL,
    outcome text NOT NULL,
    error text
);
CREATE INDEX history_by_unit ON {schema}.history (unit_id, started_ms);
CREATE INDEX history_by_start ON {schema}.history (started_ms);
