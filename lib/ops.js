'use strict';

// Layout of the engine's outbound records; must match `src/lib.rs`.
// Every record is STRIDE numbers: an opcode and five operands.

module.exports = Object.freeze({
  STRIDE: 6,
  RUN: 1, // call, slot, attempt, flags (1 retryable, 2 report conditions), task (-1: none)
  ABORT: 2, // call, reason (1 timeout, 2 stopped, 3 released, 4 cancelled: see errors.js ABORT_CODES)
  STATUS: 3, // slot, previous, current, reason (0 status-change, 1 config-change)
  CONFIG: 4, // slot
  ENABLED: 5, // slot, enabled
  PARENT: 6, // slot, process slot
  RELEASED: 7, // slot
  STARTED: 8, // slot
  COMPLETED: 9, // slot, call (-1: none), duration ms
  FAILED: 10, // slot (its `error` was set by ERRORED)
  RETRY: 11, // slot, attempt, delay ms, reference, message index
  PHASE: 12, // slot, phase (0 running, 1 completed), run mode
  DONE: 13, // ticket, error code (0: none), message index, worker slot (-1), unit id index
  STATS: 14, // slot, duration ms, run count, average ms
  LAST_RUN: 15, // slot, wall ms
  MARKED: 16, // slot, status set by hand (running, completed or error)
  ERRORED: 17, // slot, reference (call > 0 | -code), message index, culprit slot (-1)
  SKIPPED: 18, // slot, reason (index into SKIP_REASONS)
  STALLED: 19, // slot, running for ms, event loop (0/1)
  UNPAUSED: 20, // slot
  IDLE_RELEASE: 21, // slot, idle ms
  STATS_DUE: 22, //
  TASK_STATUS: 23, // task, status (see lib/pool.js), worker slot (-1)
  TASK_DONE: 24, // task, ok, call (-1)
  POOL_IDLE: 25, // pool
  STATUSES: ['idle', 'running', 'paused', 'completed', 'error'],
  RUN_MODES: ['sequential', 'parallel', 'batched', 'isolated'],
  PHASES: ['running', 'completed'],
  REASONS: ['status-change', 'config-change'],
  SKIP_REASONS: ['overlap', 'condition', 'dependency-failed', 'dependency-skipped'],
});
