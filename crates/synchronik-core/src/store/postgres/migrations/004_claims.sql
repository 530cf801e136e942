-- synchronik PostgreSQL schema, version 4: the tasks are no longer indexed
-- by the node that holds them. Every claim wrote an entry into that index
-- for each task it took (a claim changes `node`, so it is never an update
-- in place), while only rare work reads tasks by node: the rescue of a
-- dead node's tasks, a node handing its tasks back when it leaves or after
-- a lost lease. Those now read the table.
DROP INDEX {schema}.tasks_by_node;
