use super::writer::Batch;
use super::*;

use std::path::PathBuf;
use std::sync::atomic::AtomicU32;

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system's temp dir, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "synchronik-store-test-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn task(key: &str, priority: f64, arrangement: u64) -> TaskRow {
    TaskRow {
        key: key.into(),
        pool: "default".into(),
        name: format!("task-{key}"),
        handler: "job".into(),
        payload: Some(format!("{{\"k\":\"{key}\"}}")),
        priority,
        arrangement,
        attempt: 0,
        status: "queued".into(),
        thread: false,
        run_at_ms: None,
        owned: true,
    }
}

fn unit(id: &str, runs: u64) -> UnitRow {
    UnitRow {
        id: id.into(),
        status: "completed".into(),
        enabled: true,
        run_count: runs,
        execution_times_ms: vec![1.5, 2.0],
        last_run_ms: Some(1000.0),
        last_fire_ms: None,
        meta: None,
    }
}

fn history(unit: &str, attempt: u32, started_ms: f64) -> HistoryRow {
    HistoryRow {
        unit_id: unit.into(),
        task_key: None,
        task_name: None,
        pool: None,
        attempt,
        started_ms,
        ended_ms: started_ms + 1.0,
        outcome: "completed".into(),
        error: None,
    }
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

#[test]
fn group_commit_writes_everything_sent_before_flush() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    for i in 0..2000 {
        store.send(Op::TaskInsert(task(&format!("k{i}"), 0.0, i)));
    }
    store.flush().unwrap();
    assert_eq!(store.pending_writes(), 0);
    assert_eq!(store.load_tasks("default").unwrap().len(), 2000);
    assert!(store.bytes() > 0);
}

#[test]
fn a_batch_folds_writes_of_the_same_row() {
    let mut b = Batch::default();
    b.add(Op::TaskInsert(task("a", 0.0, 1)));
    b.add(Op::TaskStart {
        key: "a".into(),
        attempt: 1,
    });
    b.add(Op::TaskDelete("a".into()));
    assert_eq!(
        b.writes(),
        0,
        "inserted and deleted in one batch: nothing to write"
    );
    b.add(Op::Unit(unit("u", 1)));
    b.add(Op::Unit(unit("u", 2)));
    b.add(Op::Unit(unit("u", 3)));
    assert_eq!(b.writes(), 1);
    b.add(Op::TaskStart {
        key: "old".into(),
        attempt: 2,
    });
    b.add(Op::TaskDelete("old".into()));
    assert_eq!(b.writes(), 2, "a task from an earlier batch is deleted");
}

#[test]
fn a_batch_keeps_a_task_s_last_status_and_its_known_attempt() {
    use super::writer::TaskChange;
    let mut b = Batch::default();
    // Started, then stopped and queued again, in one batch: queued, with
    // the attempt that started.
    b.add(Op::TaskStart {
        key: "a".into(),
        attempt: 2,
    });
    b.add(Op::TaskRequeue { key: "a".into() });
    assert!(matches!(
        b.tasks.get("a"),
        Some(TaskChange::Update {
            attempt: Some(2),
            status: "queued"
        })
    ));
    // Ended, then a late start: the end stands.
    b.add(Op::TaskEnded {
        key: "b".into(),
        error: Some("boom".into()),
    });
    b.add(Op::TaskStart {
        key: "b".into(),
        attempt: 3,
    });
    assert!(matches!(b.tasks.get("b"), Some(TaskChange::Ended(Some(e))) if e == "boom"));
    // Inserted, then started: the insert carries the attempt and status.
    b.add(Op::TaskInsert(task("c", 0.0, 1)));
    b.add(Op::TaskStart {
        key: "c".into(),
        attempt: 1,
    });
    match b.tasks.get("c") {
        Some(TaskChange::Insert(row)) => {
            assert_eq!((row.attempt, row.status.as_str()), (1, "running"));
        }
        _ => panic!("the insert was lost"),
    }
    assert_eq!(b.writes(), 3);
}

#[test]
fn a_task_started_in_its_insert_batch_is_stored_running() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    store.send(Op::TaskInsert(task("a", 0.0, 1)));
    store.send(Op::TaskStart {
        key: "a".into(),
        attempt: 1,
    });
    store.send(Op::TaskInsert(task("b", 0.0, 2)));
    store.send(Op::TaskDelete("b".into()));
    store.flush().unwrap();
    let tasks = store.load_tasks("default").unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!((tasks[0].attempt, tasks[0].status.as_str()), (1, "running"));
    store.send(Op::TaskRequeue { key: "a".into() });
    store.flush().unwrap();
    let tasks = store.load_tasks("default").unwrap();
    assert_eq!((tasks[0].attempt, tasks[0].status.as_str()), (1, "queued"));
}

#[test]
fn writes_survive_dropping_the_store_and_reopening() {
    let dir = TempDir::new();
    let path = dir.file("s.db");
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let mut u = unit("w1", 7);
        u.meta = Some("{\"owner\":\"me\"}".into());
        store.send(Op::Unit(u));
        // A later upsert without meta keeps the stored meta.
        store.send(Op::Unit(unit("w1", 8)));
        store.send(Op::Unit(unit("gone", 1)));
        store.send(Op::UnitDelete("gone".into()));
        store.send(Op::TaskInsert(task("t", 1.0, 3)));
        store.send(Op::History(history("w1", 1, now_ms())));
        // Dropped without a flush: the writer commits what it was sent.
    }
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let units = store.load_units().unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].run_count, 8);
    assert_eq!(units[0].execution_times_ms, vec![1.5, 2.0]);
    assert_eq!(units[0].meta.as_deref(), Some("{\"owner\":\"me\"}"));
    assert_eq!(store.load_tasks("default").unwrap().len(), 1);
    assert_eq!(store.history_len().unwrap(), 1);
    // Keys differ between opens.
    let other = Store::open(dir.file("t.db"), StoreOptions::default()).unwrap();
    assert_ne!(store.new_key(), other.new_key());
}

#[test]
fn stored_tasks_come_back_in_queue_order_per_pool() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    store.send(Op::TaskInsert(task("a", 0.0, 1)));
    store.send(Op::TaskInsert(task("b", 5.0, 2)));
    store.send(Op::TaskInsert(task("c", 0.0, 3)));
    let mut other = task("d", 9.0, 1);
    other.pool = "other".into();
    store.send(Op::TaskInsert(other));
    store.flush().unwrap();
    let keys: Vec<String> = store
        .load_tasks("default")
        .unwrap()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(keys, ["b", "a", "c"]);
    assert_eq!(store.load_tasks("other").unwrap().len(), 1);
    assert!(store.load_tasks("none").unwrap().is_empty());
}

#[test]
fn history_queries_filter_and_order_newest_first() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    let t = now_ms();
    for i in 0..5 {
        store.send(Op::History(history("a", i + 1, t + f64::from(i))));
        store.send(Op::History(history("b", 1, t + f64::from(i))));
    }
    let rows = store
        .history(HistoryQuery {
            unit_id: Some("a".into()),
            since_ms: Some(t + 2.0),
            limit: None,
        })
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [5, 4, 3]
    );
    let rows = store
        .history(HistoryQuery {
            limit: Some(4),
            ..HistoryQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 4);
}

#[test]
fn without_history_no_rows_are_kept() {
    let dir = TempDir::new();
    let store = Store::open(
        dir.file("s.db"),
        StoreOptions {
            history: None,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.send(Op::History(history("a", 1, now_ms())));
    store.flush().unwrap();
    assert_eq!(store.history_len().unwrap(), 0);
}

#[test]
fn retention_keeps_the_newest_rows_and_drops_old_ones() {
    let dir = TempDir::new();
    let path = dir.file("s.db");
    let retention = Retention {
        max_age_ms: 60_000.0,
        max_rows: 10,
    };
    let store = Store::open(
        &path,
        StoreOptions {
            history: Some(retention),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let t = now_ms();
    for i in 0..100 {
        store.send(Op::History(history("a", i + 1, t)));
        if i % 7 == 0 {
            store.flush().unwrap();
        }
    }
    store.flush().unwrap();
    let rows = store.history(HistoryQuery::default()).unwrap();
    assert!(rows.len() <= 10, "{} rows kept", rows.len());
    assert_eq!(rows[0].attempt, 100, "the newest row is kept");
    // Rows older than max_age go.
    store.send(Op::History(history("old", 1, t - 120_000.0)));
    store.flush().unwrap();
    let rows = store.history(HistoryQuery::default()).unwrap();
    assert!(rows.iter().all(|r| r.unit_id != "old"));
}

fn assert_storage_error(result: Result<Store, EngineError>, needle: &str) -> String {
    match result {
        Ok(_) => panic!("expected a storage error"),
        Err(e) => {
            assert_eq!(e.code().as_str(), "ERR_STORAGE");
            let text = e.to_string();
            assert!(text.contains(needle), "{text} does not contain {needle}");
            text
        }
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let dir = TempDir::new();
    let path = dir.file("garbage.db");
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let text = assert_storage_error(
        Store::open(&path, StoreOptions::default()),
        "not a SQLite database",
    );
    assert!(text.contains(&path.display().to_string()));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    assert!(!dir.file("garbage.db-wal").exists());
}

#[test]
fn a_truncated_database_is_refused_and_left_unchanged() {
    let dir = TempDir::new();
    let path = dir.file("t.db");
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        for i in 0..3000 {
            store.send(Op::TaskInsert(task(&format!("key-{i}"), 0.0, i)));
        }
        store.close();
    }
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > 16 * 4096, "the database has pages to lose");
    let cut = &full[..full.len() / 2];
    std::fs::write(&path, cut).unwrap();
    assert_storage_error(Store::open(&path, StoreOptions::default()), "corrupt");
    assert_eq!(std::fs::read(&path).unwrap(), cut);
}

#[test]
fn an_empty_file_is_an_empty_store() {
    let dir = TempDir::new();
    let path = dir.file("e.db");
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert!(store.load_units().unwrap().is_empty());
}

#[test]
fn a_path_that_cannot_be_created_is_refused() {
    let dir = TempDir::new();
    assert_storage_error(
        Store::open(dir.file("missing/dir/s.db"), StoreOptions::default()),
        "cannot create",
    );
    let file = dir.file("plain");
    std::fs::write(&file, b"x").unwrap();
    assert_storage_error(
        Store::open(file.join("s.db"), StoreOptions::default()),
        "not a directory",
    );
    assert_storage_error(Store::open(&dir.0, StoreOptions::default()), "directory");
}

#[test]
fn a_closed_store_refuses_reads_and_flushes() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    store.close();
    store.close();
    assert!(store.flush().is_err());
    assert!(store.load_units().is_err());
}

#[test]
fn a_patch_changes_payload_priority_and_handler_even_in_the_insert_batch() {
    let dir = TempDir::new();
    let store = Store::open(dir.file("s.db"), StoreOptions::default()).unwrap();
    store.send(Op::TaskInsert(task("a", 0.0, 1)));
    store.send(Op::TaskInsert(task("b", 0.0, 2)));
    store.send(Op::TaskPatch {
        key: "b".into(),
        payload: Some("{\"v\":2}".into()),
        priority: Some(3.0),
        handler: None,
    });
    store.flush().unwrap();
    store.send(Op::TaskPatch {
        key: "a".into(),
        payload: None,
        priority: Some(1.0),
        handler: Some("other-job".into()),
    });
    store.flush().unwrap();
    let tasks = store.load_tasks("default").unwrap();
    assert_eq!(
        tasks
            .iter()
            .map(|t| (
                t.key.as_str(),
                t.priority,
                t.payload.as_deref(),
                t.handler.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            ("b", 3.0, Some("{\"v\":2}"), "job"),
            ("a", 1.0, Some("{\"k\":\"a\"}"), "other-job")
        ]
    );
}

#[test]
fn a_second_store_on_the_same_file_is_refused_naming_the_holder_until_the_first_closes() {
    let dir = TempDir::new();
    let path = dir.file("s.db");
    let options = || StoreOptions {
        host: Some("build-1".into()),
        ..StoreOptions::default()
    };
    let first = Store::open(&path, options()).unwrap();
    let lock = dir.file("s.db.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains(&format!("pid: {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("host: build-1"), "{text}");
    let refused = assert_storage_error(Store::open(&path, options()), "in use by another manager");
    assert!(
        refused.contains(&format!(
            "this process, pid {} on host build-1, since ",
            std::process::id()
        )),
        "{refused}"
    );
    assert!(refused.contains(&path.display().to_string()), "{refused}");
    // The refused open wrote nothing: the first store works on.
    first.send(Op::Unit(unit("w", 1)));
    first.flush().unwrap();
    first.close();
    assert!(!lock.exists(), "the lock file goes with the store");
    let second = Store::open(&path, options()).unwrap();
    assert_eq!(second.load_units().unwrap().len(), 1);
    assert_storage_error(Store::open(&path, options()), "in use by another manager");
    // Dropping the last handle releases the file too.
    drop(second);
    Store::open(&path, options()).unwrap();
}

#[test]
fn a_lock_file_left_by_a_dead_process_is_taken_over() {
    let dir = TempDir::new();
    let path = dir.file("s.db");
    // What a process killed while holding the lock leaves: the file, unlocked.
    std::fs::write(dir.file("s.db.lock"), "pid: 999999\nhost: gone\n").unwrap();
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let text = std::fs::read_to_string(dir.file("s.db.lock")).unwrap();
    assert!(
        text.starts_with(&format!("pid: {}\n", std::process::id())),
        "{text}"
    );
    assert!(!text.contains("gone"), "{text}");
    drop(store);
}

#[test]
fn a_refused_file_gets_no_lock_file() {
    let dir = TempDir::new();
    let path = dir.file("garbage.db");
    std::fs::write(&path, b"not a database, not at all").unwrap();
    assert_storage_error(
        Store::open(&path, StoreOptions::default()),
        "not a SQLite database",
    );
    assert!(!dir.file("garbage.db.lock").exists());
}

#[cfg(unix)]
#[test]
fn paths_through_symbolic_links_share_the_lock() {
    let dir = TempDir::new();
    let real = dir.file("real");
    std::fs::create_dir(&real).unwrap();
    let path = real.join("s.db");
    // Not created yet: the link to the directory is resolved.
    std::os::unix::fs::symlink(&real, dir.file("linked-dir")).unwrap();
    let store = Store::open(dir.file("linked-dir/s.db"), StoreOptions::default()).unwrap();
    assert!(real.join("s.db.lock").exists());
    assert_storage_error(
        Store::open(&path, StoreOptions::default()),
        "in use by another manager",
    );
    // A link to the file itself.
    std::os::unix::fs::symlink(&path, dir.file("link.db")).unwrap();
    assert_storage_error(
        Store::open(dir.file("link.db"), StoreOptions::default()),
        "in use by another manager",
    );
    store.close();
    assert!(!real.join("s.db.lock").exists());
    Store::open(dir.file("link.db"), StoreOptions::default()).unwrap();
}

/// The schema version 1 wrote: tasks without a `kind`.
const SCHEMA_V1: &str = "
CREATE TABLE synchronik_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE units (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, enabled INTEGER NOT NULL,
    run_count INTEGER NOT NULL, execution_times TEXT NOT NULL, last_run_ms REAL, meta TEXT
);
CREATE TABLE tasks (
    key TEXT PRIMARY KEY, pool TEXT NOT NULL, name TEXT NOT NULL, handler TEXT NOT NULL,
    payload TEXT, priority REAL NOT NULL, arrangement INTEGER NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL
);
CREATE INDEX tasks_by_pool ON tasks (pool, arrangement);
CREATE TABLE history (
    id INTEGER PRIMARY KEY, unit_id TEXT NOT NULL, task_key TEXT, task_name TEXT, pool TEXT,
    attempt INTEGER NOT NULL, started_ms REAL NOT NULL, ended_ms REAL NOT NULL,
    outcome TEXT NOT NULL, error TEXT
);
INSERT INTO synchronik_meta (key, value) VALUES ('schema_version', '1');
";

/// Makes a database at `path` by hand, as an older (or newer) version left it.
fn write_by_hand(path: &Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(sql).unwrap();
}

fn stored_schema_version(store: &Store) -> String {
    store
        .query(|c| {
            c.query_row(
                "SELECT value FROM synchronik_meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
        })
        .unwrap()
}

#[test]
fn a_version_1_database_is_upgraded_and_its_tasks_are_worker_pool_tasks() {
    let dir = TempDir::new();
    let path = dir.file("v1.db");
    write_by_hand(
        &path,
        &format!(
            "{SCHEMA_V1}
             INSERT INTO tasks (key, pool, name, handler, payload, priority, arrangement, attempt, status)
             VALUES ('old-1', 'default', 'old', 'job', '{{\"n\":1}}', 2.0, 7, 1, 'running');"
        ),
    );
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(stored_schema_version(&store), SCHEMA_VERSION.to_string());
    assert_eq!(SCHEMA_VERSION, 2);
    let tasks = store.load_tasks("default").unwrap();
    assert_eq!(
        tasks,
        [TaskRow {
            key: "old-1".into(),
            pool: "default".into(),
            name: "old".into(),
            handler: "job".into(),
            payload: Some("{\"n\":1}".into()),
            priority: 2.0,
            arrangement: 7,
            attempt: 1,
            status: "running".into(),
            thread: false,
            run_at_ms: None,
            owned: true,
        }]
    );
    assert!(store.load_thread_tasks("default").unwrap().is_empty());
    // The upgraded table takes thread pool tasks beside it.
    let mut t = task("new", 0.0, 8);
    t.thread = true;
    store.send(Op::TaskInsert(t));
    store.flush().unwrap();
    assert_eq!(store.load_tasks("default").unwrap().len(), 1);
    let threads = store.load_thread_tasks("default").unwrap();
    assert_eq!(
        threads
            .iter()
            .map(|t| (t.key.as_str(), t.thread))
            .collect::<Vec<_>>(),
        [("new", true)]
    );
    store.close();
    // Reopened: upgraded once, still version 2, nothing lost.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(stored_schema_version(&store), "2");
    assert_eq!(store.load_tasks("default").unwrap().len(), 1);
    assert_eq!(store.load_thread_tasks("default").unwrap().len(), 1);
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_left_unchanged() {
    let dir = TempDir::new();
    let path = dir.file("v3.db");
    write_by_hand(
        &path,
        &SCHEMA_V1.replace(
            "VALUES ('schema_version', '1')",
            "VALUES ('schema_version', '3')",
        ),
    );
    let before = std::fs::read(&path).unwrap();
    let text = assert_storage_error(
        Store::open(&path, StoreOptions::default()),
        "the database has schema version 3, newer than this version of synchronik supports (2)",
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.file("v3.db.lock").exists());
}
