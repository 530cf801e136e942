-- synchronik PostgreSQL schema, version 3: identifiers compare byte by
-- byte. Task keys and the names of pools, handlers, nodes, units and
-- leases are looked up and indexed, never sorted for people; under the
-- database's collation (a linguistic one, as a rule) every index lookup of
-- them paid a locale-aware comparison. The history's index by start time
-- becomes a BRIN index: the history is appended in time order and
-- retention reads it by ranges, and a B-tree made every insert pay for an
-- index only retention uses.
ALTER TABLE {schema}.tasks
    ALTER COLUMN key TYPE text COLLATE "C",
    ALTER COLUMN pool TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN handler TYPE text COLLATE "C",
    ALTER COLUMN node TYPE text COLLATE "C",
    ALTER COLUMN origin TYPE text COLLATE "C";
ALTER TABLE {schema}.history ALTER COLUMN unit_id TYPE text COLLATE "C";
ALTER TABLE {schema}.units ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE {schema}.nodes ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE {schema}.leases
    ALTER COLUMN name TYPE text COLLATE "C",
    ALTER COLUMN node TYPE text COLLATE "C";
DROP INDEX {schema}.history_by_start;
CREATE INDEX history_by_start ON {schema}.history USING brin (started_ms);
