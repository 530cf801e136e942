// @ts-check
'use strict';

// The layout of the engine's outbound records and the names its numbers
// stand for, as the engine defines them (lib/generated/vocabulary.js, made
// from crates/synchronik-core/src/vocabulary.rs). Every record is STRIDE
// numbers: an opcode and five operands; the generated file lists each
// opcode's operands.

const vocabulary = require('./generated/vocabulary');

module.exports = Object.freeze({
  STRIDE: vocabulary.STRIDE,
  ...vocabulary.OPS,
  STATUSES: vocabulary.STATUSES,
  RUN_MODES: vocabulary.RUN_MODES,
  OVERLAPS: vocabulary.OVERLAPS,
  PHASES: vocabulary.PHASES,
  REASONS: vocabulary.UPDATE_REASONS,
  SKIP_REASONS: vocabulary.SKIP_REASONS,
  TASK_STATUSES: vocabulary.TASK_STATUSES,
  TASK_ENDS: vocabulary.TASK_ENDS,
  TASK_END_STATUSES: vocabulary.TASK_END_STATUSES,
});
