//! The engine's errors. Each variant carries the ids it is about, and maps to
//! one stable code ([`EngineError::code`]) that the JavaScript side exposes as
//! `SynchronikError.code`.

use thiserror::Error;

use crate::names::named_enum;

/// Everything the engine can refuse or report.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EngineError {
    /// A process lists the same worker id twice (or a worker with the
    /// process's own id).
    #[error("process \"{process}\" lists worker \"{worker}\" more than once")]
    DuplicateWorker {
        /// The process's id.
        process: String,
        /// The id that repeats.
        worker: String,
        /// The position in the process's workers of the worker that repeats an id.
        index: usize,
    },
    /// No unit is registered with this id (an action that must name one,
    /// such as running a unit from the dashboard).
    #[error("no unit is registered with id \"{id}\"")]
    UnknownUnit {
        /// The id that was named.
        id: String,
    },
    /// No pool task has this id: never queued, or finished and no longer
    /// among the last tasks its pool keeps (an action that must name one,
    /// such as queueing a failed task again).
    #[error("no pool task with id {task} is queued, running, or among the last finished")]
    UnknownTask {
        /// The task id that was named.
        task: u64,
    },
    /// A pool task cannot be queued again (it has not finished, did not
    /// fail, was queued again already, or its function is not stored).
    #[error("task {task} cannot be queued again: {reason}")]
    NotRetryable {
        /// The task's id.
        task: u64,
        /// Why not (`"it completed"`, …).
        reason: String,
    },
    /// A worker's attempt did not settle within its `timeoutMs`.
    #[error("worker \"{id}\" timed out after {timeout_ms} ms (attempt {attempt})")]
    Timeout {
        /// The worker's id.
        id: String,
        /// The worker's timeout (ms).
        timeout_ms: f64,
        /// The attempt that timed out: 1 for the first.
        attempt: u32,
    },
    /// A run was ended by `stop()`.
    #[error("unit \"{id}\" was stopped before it settled")]
    Stopped {
        /// The unit's id.
        id: String,
    },
    /// A pool task was cancelled while it ran (its signal was aborted).
    #[error("the task running on \"{id}\" was cancelled")]
    Cancelled {
        /// The id of the pool worker that ran the task.
        id: String,
    },
    /// A unit was released while it ran.
    #[error("unit \"{id}\" was released while it was running")]
    Released {
        /// The unit's id.
        id: String,
    },
    /// A worker of a process failed, which failed the process run.
    #[error("process \"{process}\" failed: worker \"{worker}\" failed: {message}")]
    WorkerFailed {
        /// The process's id.
        process: String,
        /// The id of the worker that failed.
        worker: String,
        /// The message of the worker's error.
        message: String,
    },
    /// A worker depends on an id that is not a worker of its process (or,
    /// for a worker registered on its own, not a registered unit).
    #[error("worker \"{worker}\" of process \"{process}\" depends on \"{dependency}\", which is not a worker of that process")]
    UnknownDependency {
        /// The process's id; empty for a worker registered on its own.
        process: String,
        /// The id of the worker that depends on it.
        worker: String,
        /// The id that is not known.
        dependency: String,
        /// The worker's position in its process's workers (None for a
        /// worker registered on its own).
        worker_index: Option<usize>,
        /// The position of the dependency in the worker's `depends_on`.
        dependency_index: usize,
    },
    /// The dependencies of a process's workers form a cycle.
    #[error("Circular dependency detected involving worker {worker} (in process \"{process}\": {})", path.join(" → "))]
    DependencyCycle {
        /// The process's id.
        process: String,
        /// The worker of the cycle that comes first in the process's workers
        /// (the first id of `path`).
        worker: String,
        /// The cycle, each id depending on the next; the first id is repeated at the end.
        path: Vec<String>,
    },
    /// A queued pool task that lives in memory only was dropped because the
    /// manager was stopped (or closed) before it ran.
    #[error("a task queued in pool \"{pool}\" was dropped: the manager was {} before it ran", if *.closed { "closed" } else { "stopped" })]
    Dropped {
        /// The name of the task's pool (a worker pool or a thread pool).
        pool: String,
        /// `true`: the manager was closed; `false`: it was stopped.
        closed: bool,
    },
    /// The thread that ran a task of a thread pool exited before the task
    /// settled (`process.exit`, an uncaught exception, `resourceLimits`).
    #[error("the thread running a task of thread pool \"{pool}\" exited: {message}")]
    ThreadExited {
        /// The thread pool's name.
        pool: String,
        /// Why the thread exited, as the host reported it.
        message: String,
    },
    /// The threads of a thread pool cannot load its module.
    #[error("thread pool \"{pool}\" cannot load its module: {message}")]
    ThreadBootstrap {
        /// The thread pool's name.
        pool: String,
        /// The message of the error loading the module.
        message: String,
    },
    /// A pool's queue holds `maxQueue` tasks already.
    #[error("the queue of thread pool \"{pool}\" is full ({max} tasks wait)")]
    QueueFull {
        /// The thread pool's name.
        pool: String,
        /// Its `maxQueue`.
        max: usize,
    },
    /// A thread pool was closed (or destroyed) before the task ran or settled.
    #[error("thread pool \"{pool}\" was {}", if *.destroyed { "destroyed" } else { "closed" })]
    ThreadPoolClosed {
        /// The thread pool's name.
        pool: String,
        /// `true`: it was destroyed; `false`: it was closed.
        destroyed: bool,
    },
    /// A task of a thread pool still ran when a stop reached its time
    /// limit: its thread was terminated.
    #[error("a task of thread pool \"{pool}\" was still running when the stop's time limit passed; its thread was terminated")]
    ThreadStopped {
        /// The thread pool's name.
        pool: String,
    },
    /// A run was given to a thread pool while its manager is stopped.
    #[error("thread pool \"{pool}\" is stopped with its manager; start the manager to run tasks on it (named tasks, addTask, are kept for the start)")]
    ThreadPoolStopped {
        /// The thread pool's name.
        pool: String,
    },
    /// The durable store cannot be opened, read or written.
    #[error("SQLite store \"{path}\": {message}")]
    Storage {
        /// The SQLite database file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The PostgreSQL store cannot be reached, opened, read or written.
    /// `target` names the server, database and schema (never a password).
    #[error("PostgreSQL store {target}: {message}")]
    Postgres {
        /// The server, database and schema, as
        /// [`crate::store::Store::describe`] gives them (only the schema when
        /// the options are refused before connecting).
        target: String,
        /// What went wrong.
        message: String,
    },
}

impl EngineError {
    /// The stable code of this error, as JavaScript sees it.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::UnknownUnit { .. } => ErrorCode::UnknownUnit,
            EngineError::UnknownTask { .. } => ErrorCode::UnknownTask,
            EngineError::NotRetryable { .. } => ErrorCode::NotRetryable,
            EngineError::DuplicateWorker { .. } => ErrorCode::InvalidUnit,
            EngineError::Timeout { .. } => ErrorCode::Timeout,
            EngineError::Stopped { .. } => ErrorCode::Stopped,
            EngineError::Released { .. } => ErrorCode::Released,
            EngineError::WorkerFailed { .. } => ErrorCode::WorkerFailed,
            EngineError::UnknownDependency { .. } => ErrorCode::UnknownDependency,
            EngineError::DependencyCycle { .. } => ErrorCode::DependencyCycle,
            EngineError::Cancelled { .. } => ErrorCode::Cancelled,
            EngineError::Storage { .. } | EngineError::Postgres { .. } => ErrorCode::Storage,
            EngineError::Dropped { closed: true, .. } => ErrorCode::Closed,
            EngineError::Dropped { closed: false, .. } => ErrorCode::Stopped,
            EngineError::ThreadExited { .. } => ErrorCode::ThreadExited,
            EngineError::ThreadBootstrap { .. } => ErrorCode::ThreadBootstrap,
            EngineError::QueueFull { .. } => ErrorCode::QueueFull,
            EngineError::ThreadPoolClosed { .. } => ErrorCode::Closed,
            EngineError::ThreadStopped { .. } | EngineError::ThreadPoolStopped { .. } => {
                ErrorCode::Stopped
            }
        }
    }

    /// The id of the unit the error is about (the failing worker for a
    /// failed process run).
    pub fn unit_id(&self) -> &str {
        match self {
            EngineError::UnknownUnit { id }
            | EngineError::Timeout { id, .. }
            | EngineError::Stopped { id }
            | EngineError::Released { id }
            | EngineError::Cancelled { id } => id,
            EngineError::DuplicateWorker { worker, .. }
            | EngineError::WorkerFailed { worker, .. }
            | EngineError::UnknownDependency { worker, .. }
            | EngineError::DependencyCycle { worker, .. } => worker,
            EngineError::Storage { .. }
            | EngineError::Postgres { .. }
            | EngineError::Dropped { .. }
            | EngineError::UnknownTask { .. }
            | EngineError::NotRetryable { .. }
            | EngineError::ThreadExited { .. }
            | EngineError::ThreadBootstrap { .. }
            | EngineError::QueueFull { .. }
            | EngineError::ThreadPoolClosed { .. }
            | EngineError::ThreadStopped { .. }
            | EngineError::ThreadPoolStopped { .. } => "",
        }
    }
}

named_enum! {
    /// Stable error codes. The numeric value crosses the bridge; the string
    /// (`ERR_…`) is what users see. The binding exports `ALL` and the
    /// JavaScript tables are built from it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum ErrorCode {
        /// No unit is registered with the id ([`EngineError::UnknownUnit`]).
        UnknownUnit = 1 => "ERR_UNKNOWN_UNIT",
        /// A unit of the other kind was named (a process where a worker was
        /// expected, …). No [`EngineError`] has this code.
        WrongKind = 2 => "ERR_WRONG_KIND",
        /// A unit the engine refuses ([`EngineError::DuplicateWorker`]).
        InvalidUnit = 3 => "ERR_INVALID_UNIT",
        /// An attempt did not settle in time ([`EngineError::Timeout`]).
        Timeout = 4 => "ERR_TIMEOUT",
        /// Ended or refused by a stop: [`EngineError::Stopped`], a
        /// [`EngineError::Dropped`] that is not `closed`,
        /// [`EngineError::ThreadStopped`], [`EngineError::ThreadPoolStopped`].
        Stopped = 5 => "ERR_STOPPED",
        /// The unit was released while it ran ([`EngineError::Released`]).
        Released = 6 => "ERR_RELEASED",
        /// A worker failed a process run ([`EngineError::WorkerFailed`]).
        WorkerFailed = 7 => "ERR_WORKER_FAILED",
        /// A run failed with nothing else to show; the JavaScript side makes
        /// it. No [`EngineError`] has this code.
        RunFailed = 8 => "ERR_RUN_FAILED",
        /// A dependency that is not a worker of the process
        /// ([`EngineError::UnknownDependency`]).
        UnknownDependency = 9 => "ERR_UNKNOWN_DEPENDENCY",
        /// The dependencies of a process's workers form a cycle
        /// ([`EngineError::DependencyCycle`]).
        DependencyCycle = 10 => "ERR_DEPENDENCY_CYCLE",
        /// A running pool task was cancelled ([`EngineError::Cancelled`]).
        Cancelled = 11 => "ERR_CANCELLED",
        /// The durable store failed: [`EngineError::Storage`] (SQLite),
        /// [`EngineError::Postgres`].
        Storage = 12 => "ERR_STORAGE",
        /// Ended or refused by a close: a `closed` [`EngineError::Dropped`],
        /// [`EngineError::ThreadPoolClosed`].
        Closed = 13 => "ERR_CLOSED",
        /// No pool task has the id ([`EngineError::UnknownTask`]).
        UnknownTask = 14 => "ERR_UNKNOWN_TASK",
        /// A pool task cannot be queued again ([`EngineError::NotRetryable`]).
        NotRetryable = 15 => "ERR_NOT_RETRYABLE",
        /// The thread running a thread pool's task exited
        /// ([`EngineError::ThreadExited`]).
        ThreadExited = 16 => "ERR_THREAD_EXITED",
        /// A thread pool's threads cannot load its module
        /// ([`EngineError::ThreadBootstrap`]).
        ThreadBootstrap = 17 => "ERR_THREAD_BOOTSTRAP",
        /// A thread pool's queue is full ([`EngineError::QueueFull`]).
        QueueFull = 18 => "ERR_QUEUE_FULL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_units() {
        let e = EngineError::Timeout {
            id: "w1".into(),
            timeout_ms: 50.0,
            attempt: 2,
        };
        assert_eq!(
            e.to_string(),
            "worker \"w1\" timed out after 50 ms (attempt 2)"
        );
        assert_eq!(e.code().as_str(), "ERR_TIMEOUT");
        let e = EngineError::WorkerFailed {
            process: "p".into(),
            worker: "w".into(),
            message: "boom".into(),
        };
        assert_eq!(e.unit_id(), "w");
        assert!(e.to_string().contains("\"p\"") && e.to_string().contains("boom"));
    }

    #[test]
    fn every_code_is_listed_once_with_its_own_number_and_string() {
        let numbers: Vec<u8> = ErrorCode::ALL.iter().map(|&c| c as u8).collect();
        let expected: Vec<u8> = (1..=ErrorCode::ALL.len() as u8).collect();
        assert_eq!(numbers, expected, "codes are numbered 1, 2, … without gaps");
        let mut strings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(strings.iter().all(|s| s.starts_with("ERR_")));
        strings.sort_unstable();
        strings.dedup();
        assert_eq!(strings.len(), ErrorCode::ALL.len());
    }
}
