-- synchronik PostgreSQL schema, version 5: the history keeps one row per
-- unit and commit. A node commits the attempts that ended since its last
-- commit together; those of one unit now go into one row whose array
-- columns hold one element per attempt, oldest first (`task_key[i]`,
-- `attempt[i]`, … describe attempt i). A row per attempt cost the server
-- a heap tuple and two index entries for each; a commit of a few hundred
-- attempts of a handful of units now writes a handful of rows. The
-- scalar columns bound the row's attempts: reads and retention pick rows
-- by them and by the index on (unit_id, id), then unnest the arrays.
-- The rows of version 4 are carried over, one row per attempt as before.
CREATE TABLE {schema}.history_v5 (
    id bigserial PRIMARY KEY,
    node text,
    unit_id text COLLATE "C" NOT NULL,
    -- How many attempts the row holds (the length of every array).
    attempts integer NOT NULL,
    -- The earliest and latest start, and the latest end, of its attempts.
    first_started_ms double precision NOT NULL,
    last_started_ms double precision NOT NULL,
    last_ended_ms double precision NOT NULL,
    task_key text[] NOT NULL,
    task_name text[] NOT NULL,
    pool text[] NOT NULL,
    attempt integer[] NOT NULL,
    started_ms double precision[] NOT NULL,
    ended_ms double precision[] NOT NULL,
    outcome text[] NOT NULL,
    error text[] NOT NULL
);
INSERT INTO {schema}.history_v5 (node, unit_id, attempts, first_started_ms, last_started_ms, last_ended_ms,
        task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error)
    SELECT node, unit_id, 1, started_ms, started_ms, ended_ms,
        ARRAY[task_key], ARRAY[task_name], ARRAY[pool], ARRAY[attempt], ARRAY[started_ms], ARRAY[ended_ms],
        ARRAY[outcome], ARRAY[error]
    FROM {schema}.history ORDER BY id;
DROP TABLE {schema}.history;
ALTER TABLE {schema}.history_v5 RENAME TO history;
ALTER SEQUENCE {schema}.history_v5_id_seq RENAME TO history_id_seq;
ALTER INDEX {schema}.history_v5_pkey RENAME TO history_pkey;
CREATE INDEX history_by_unit ON {schema}.history (unit_id, id);
CREATE INDEX history_by_start ON {schema}.history USING brin (first_started_ms);
