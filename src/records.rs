//! The record encoding: how the engine's invocations and events become
//! records of the [`Outbox`]. The opcodes, their operands and the numbers
//! of every name are the engine's vocabulary
//! ([`synchronik_core::vocabulary`]), from which `lib/generated/` is made.

use synchronik_core::vocabulary::{op, TaskEnd, ThreadEnd, STRIDE};
use synchronik_core::{
    AbortReason, CallId, Event, EventSink, Failure, Invocation, Invoker, RunEnd, RunStart,
    TaskOutcome, ThreadEvent, ThreadOutcome,
};

use crate::outbox::{Batch, Outbox};

/// A record of opcode `op`: its operands, then zeros.
fn record(op: u8, operands: &[f64]) -> [f64; STRIDE] {
    let mut r = [0.0; STRIDE];
    r[0] = f64::from(op);
    r[1..=operands.len()].copy_from_slice(operands);
    r
}

/// RUN's flags: 1 when a failure is retried, 2 when the host reports the
/// conditions on the result.
fn invocation_flags(i: &Invocation) -> u8 {
    u8::from(i.retryable) | (u8::from(i.conditions) << 1)
}

/// A flag as an operand.
fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// An optional number as an operand (-1: none).
fn or_none<T: Into<f64>>(v: Option<T>) -> f64 {
    v.map_or(-1.0, Into::into)
}

/// Encodes a failure as (reference, message index): a user failure refers
/// to its call (> 0), an engine failure to its code (< 0).
fn failure(b: &mut Batch, f: Failure) -> (f64, f64) {
    match f {
        Failure::User { call, message } => (call as f64, b.string(message)),
        Failure::Engine(e) => (-f64::from(e.code() as u8), b.string(e.to_string())),
    }
}

impl Invoker for Outbox {
    /// A RUN record.
    fn invoke(&self, i: Invocation) {
        self.batch.lock().push(record(
            op::RUN,
            &[
                i.call as f64,
                f64::from(i.unit),
                f64::from(i.attempt),
                f64::from(invocation_flags(&i)),
                i.task.map_or(-1.0, |t| t as f64),
            ],
        ));
    }

    /// One BEGIN_RUN record, pushed at once (a drain can take both or
    /// neither) — when the sink is this outbox, as it is for every engine
    /// the binding makes; otherwise a BEGIN there and a RUN here.
    fn invoke_started(&self, sink: &dyn EventSink, start: RunStart, i: Invocation) {
        if !std::ptr::addr_eq(sink, self) {
            sink.emit_start(start);
            self.invoke(i);
            return;
        }
        let packed = f64::from(invocation_flags(&i))
            + f64::from(start.previous as u8) * 4.0
            + f64::from(start.reason as u8) * 32.0;
        self.batch.lock().push(record(
            op::BEGIN_RUN,
            &[
                i.call as f64,
                f64::from(i.unit),
                f64::from(i.attempt),
                packed,
                start.wall_ms,
            ],
        ));
    }

    fn abort(&self, call: CallId, reason: AbortReason) {
        self.batch
            .lock()
            .push(record(op::ABORT, &[call as f64, f64::from(reason as u8)]));
    }
}

impl EventSink for Outbox {
    /// One BEGIN record for the three events of a run's start.
    fn emit_start(&self, start: RunStart) {
        self.batch.lock().push(record(
            op::BEGIN,
            &[
                f64::from(start.unit),
                start.wall_ms,
                f64::from(start.previous as u8),
                f64::from(start.reason as u8),
            ],
        ));
    }

    /// One END record for the events of a run's completion: the call and
    /// the status change share an operand (a call number stays far below
    /// 2^50).
    fn emit_end(&self, end: RunEnd) {
        let status = end.previous.map_or(0.0, |p| f64::from(p as u8) + 1.0);
        let call = end.call.map_or(0.0, |c| c as f64 + 1.0);
        self.batch.lock().push(record(
            op::END,
            &[
                f64::from(end.unit),
                end.duration_ms,
                end.run_count as f64,
                end.average_ms,
                call * 8.0 + status,
            ],
        ));
    }

    fn emit(&self, event: Event) {
        let mut b = self.batch.lock();
        let r = match event {
            Event::Status {
                unit,
                previous,
                current,
                reason,
            } => record(
                op::STATUS,
                &[
                    f64::from(unit),
                    f64::from(previous as u8),
                    f64::from(current as u8),
                    f64::from(reason as u8),
                ],
            ),
            Event::Config { unit } => record(op::CONFIG, &[f64::from(unit)]),
            Event::Enabled { unit, enabled } => {
                record(op::ENABLED, &[f64::from(unit), flag(enabled)])
            }
            Event::Parent { unit, process } => {
                record(op::PARENT, &[f64::from(unit), f64::from(process)])
            }
            Event::Released { unit } => record(op::RELEASED, &[f64::from(unit)]),
            Event::Started { unit } => record(op::STARTED, &[f64::from(unit)]),
            Event::LastRun { unit, wall_ms } => record(op::LAST_RUN, &[f64::from(unit), wall_ms]),
            Event::Marked { unit, status } => {
                record(op::MARKED, &[f64::from(unit), f64::from(status as u8)])
            }
            Event::Stats {
                unit,
                duration_ms,
                run_count,
                average_ms,
            } => record(
                op::STATS,
                &[f64::from(unit), duration_ms, run_count as f64, average_ms],
            ),
            Event::Completed {
                unit,
                call,
                duration_ms,
            } => record(
                op::COMPLETED,
                &[
                    f64::from(unit),
                    call.map_or(-1.0, |c| c as f64),
                    duration_ms,
                ],
            ),
            Event::Errored {
                unit,
                failure: f,
                culprit,
            } => {
                let (reference, msg) = failure(&mut b, f);
                record(
                    op::ERRORED,
                    &[f64::from(unit), reference, msg, or_none(culprit)],
                )
            }
            Event::Failed { unit } => record(op::FAILED, &[f64::from(unit)]),
            Event::Retry {
                unit,
                attempt,
                delay_ms,
                failure: f,
            } => {
                let (reference, msg) = failure(&mut b, f);
                record(
                    op::RETRY,
                    &[
                        f64::from(unit),
                        f64::from(attempt),
                        delay_ms,
                        reference,
                        msg,
                    ],
                )
            }
            Event::ProcessPhase {
                unit,
                phase,
                run_mode,
            } => record(
                op::PHASE,
                &[
                    f64::from(unit),
                    f64::from(phase as u8),
                    f64::from(run_mode as u8),
                ],
            ),
            Event::Skipped { unit, reason } => {
                record(op::SKIPPED, &[f64::from(unit), f64::from(reason as u8)])
            }
            Event::Stalled {
                unit,
                running_for_ms,
                event_loop,
            } => record(
                op::STALLED,
                &[f64::from(unit), running_for_ms, flag(event_loop)],
            ),
            Event::Unpaused { unit } => record(op::UNPAUSED, &[f64::from(unit)]),
            Event::IdleRelease { unit, idle_ms } => {
                record(op::IDLE_RELEASE, &[f64::from(unit), idle_ms])
            }
            Event::StatsDue => record(op::STATS_DUE, &[]),
            Event::TaskStatus {
                task,
                status,
                worker,
            } => record(
                op::TASK_STATUS,
                &[task as f64, f64::from(status as u8), or_none(worker)],
            ),
            Event::TaskDone { task, outcome } => {
                let end = f64::from(TaskEnd::of(&outcome) as u8);
                match outcome {
                    TaskOutcome::Completed { call } => {
                        record(op::TASK_DONE, &[task as f64, end, call as f64])
                    }
                    TaskOutcome::Failed(f) => {
                        let (reference, msg) = failure(&mut b, f);
                        record(op::TASK_DONE, &[task as f64, end, reference, msg])
                    }
                    TaskOutcome::Cancelled => record(op::TASK_DONE, &[task as f64, end]),
                    TaskOutcome::Dropped(e) => {
                        let (reference, msg) = failure(&mut b, Failure::Engine(e));
                        record(op::TASK_DONE, &[task as f64, end, reference, msg])
                    }
                }
            }
            Event::PoolIdle { pool } => record(op::POOL_IDLE, &[f64::from(pool)]),
            Event::Thread(e) => match e {
                ThreadEvent::Work { runner } => {
                    // Not a record: the runner's own thread is woken.
                    drop(b);
                    self.runners.wake(runner);
                    return;
                }
                ThreadEvent::Spawn { pool, runner } => {
                    record(op::THREAD_SPAWN, &[f64::from(runner), f64::from(pool)])
                }
                ThreadEvent::Terminate { runner } => record(op::THREAD_END, &[f64::from(runner)]),
                ThreadEvent::Closed { pool } => record(op::THREAD_CLOSED, &[f64::from(pool)]),
                ThreadEvent::Started { task, attempt } => {
                    record(op::THREAD_STARTED, &[task as f64, f64::from(attempt)])
                }
                ThreadEvent::Done { task, outcome } => {
                    let (end, value, code, msg) = match outcome {
                        ThreadOutcome::Returned(v) => (ThreadEnd::Returned, b.blob(v), 0.0, -1.0),
                        ThreadOutcome::Threw(v) => (ThreadEnd::Threw, b.blob(v), 0.0, -1.0),
                        ThreadOutcome::Aborted => (ThreadEnd::Aborted, -1.0, 0.0, -1.0),
                        ThreadOutcome::Failed { error, cause } => {
                            let value = cause.filter(|c| !c.is_empty()).map_or(-1.0, |c| b.blob(c));
                            let code = f64::from(error.code() as u8);
                            (ThreadEnd::Failed, value, code, b.string(error.to_string()))
                        }
                    };
                    record(
                        op::THREAD_DONE,
                        &[task as f64, f64::from(end as u8), value, code, msg],
                    )
                }
            },
            Event::Done { ticket, error } => match error {
                None => record(op::DONE, &[ticket as f64, 0.0, 0.0, -1.0]),
                Some((worker, e)) => {
                    let code = f64::from(e.code() as u8);
                    let msg = b.string(e.to_string());
                    // The unit's id too: the unit may be released by the
                    // time the facade reads the record.
                    let id = b.string(e.unit_id().to_owned());
                    record(op::DONE, &[ticket as f64, code, msg, f64::from(worker), id])
                }
            },
        };
        b.push(r);
    }
}
