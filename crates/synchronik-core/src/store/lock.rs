//! One store per database file: an exclusive lock on a sidecar file
//! `<db>.lock`, which also says who holds it (pid, host, since when).
//!
//! The lock is an OS file lock (`flock` on Unix, `LockFileEx` on Windows,
//! through [`std::fs::File::try_lock`]): it belongs to the open file, so a
//! second open of the same database conflicts whether it comes from another
//! process or from this one, and it dies with the process — a process killed
//! with SIGKILL leaves the file behind but not the lock, and the next open
//! takes it over.
//!
//! On Unix the file is removed when the store closes, while the lock is
//! still held. An opener that locked a file just removed this way sees that
//! the path no longer names the file it holds, and starts again.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::storage_error;
use crate::error::EngineError;

/// Attempts at taking the lock when the file is replaced under us.
const ATTEMPTS: usize = 16;

/// The lock on a database file, held until dropped.
#[derive(Debug)]
pub(super) struct DbLock {
    /// Held for its lock, which goes with it.
    _file: File,
    path: PathBuf,
}

impl Drop for DbLock {
    fn drop(&mut self) {
        // Removed while still locked (see the module's doc); the lock goes
        // with the file handle right after.
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `<db>.lock`, next to the database, symbolic links resolved: two paths
/// to the same file (a link to it, or to its directory) share one lock.
pub(super) fn lock_path(db: &Path) -> PathBuf {
    let real = std::fs::canonicalize(db).ok().or_else(|| {
        let name = db.file_name()?;
        let parent = db.parent().filter(|p| !p.as_os_str().is_empty());
        let parent = parent.unwrap_or_else(|| Path::new("."));
        Some(std::fs::canonicalize(parent).ok()?.join(name))
    });
    let mut p = real.as_deref().unwrap_or(db).as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn names(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn names(_path: &Path, _file: &File) -> bool {
    true
}

/// This machine's name, where the system tells it without a system call.
pub(super) fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// `ms` since the epoch as an ISO 8601 UTC time (`2026-01-31T12:00:00.000Z`).
fn iso_time(ms: u128) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// What the lock file says about its holder.
fn holder_text(host: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut text = format!("pid: {}\n", std::process::id());
    if let Some(h) = host {
        text.push_str(&format!("host: {h}\n"));
    }
    text.push_str(&format!("since: {}\n", iso_time(now)));
    text
}

/// The holder as the error names it: `pid 4242 on host build-1, since …`,
/// starting with `this process, ` when it is this one (`host` is ours).
fn describe_holder(text: &str, host: Option<&str>) -> Option<String> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    };
    let pid = field("pid")?;
    let their_host = field("host");
    let mut s = String::new();
    if pid == std::process::id().to_string() && their_host.as_deref() == host {
        s.push_str("this process, ");
    }
    s.push_str(&format!("pid {pid}"));
    if let Some(h) = their_host {
        s.push_str(&format!(" on host {h}"));
    }
    if let Some(since) = field("since") {
        s.push_str(&format!(", since {since}"));
    }
    Some(s)
}

/// Takes the lock of the database at `db`, recording this process (and
/// `host`, or the host name the system gives) as its holder. Fails with
/// [`EngineError::Storage`] naming the holder when another store has it.
pub(super) fn acquire(db: &Path, host: Option<&str>) -> Result<DbLock, EngineError> {
    let host = host
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .or_else(host_name);
    let host = host.as_deref();
    let path = lock_path(db);
    for _ in 0..ATTEMPTS {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                storage_error(
                    db,
                    format!("cannot create the lock file {}: {e}", path.display()),
                )
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = describe_holder(&text, host)
                    .unwrap_or_else(|| "who holds it could not be read".to_owned());
                return Err(storage_error(
                    db,
                    format!(
                        "the database is in use by another manager ({holder}; lock file {}); \
                         one manager per database file: close() the other one first",
                        path.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(storage_error(
                    db,
                    format!("cannot lock {}: {e}", path.display()),
                ))
            }
        }
        if !names(&path, &file) {
            // Its holder removed it as it closed: the lock is on a file
            // nobody else will open.
            continue;
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder_text(host).as_bytes()))
            .and_then(|()| file.flush());
        let lock = DbLock { _file: file, path };
        written.map_err(|e| {
            storage_error(
                db,
                format!("cannot write the lock file {}: {e}", lock.path.display()),
            )
        })?;
        return Ok(lock);
    }
    Err(storage_error(
        db,
        format!(
            "cannot lock {}: it keeps being replaced",
            lock_path(db).display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_is_utc_with_milliseconds() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso_time(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_holder_is_described_from_the_lock_file() {
        let text = "pid: 1\nhost: build-1\nsince: 2026-01-01T00:00:00.000Z\n";
        assert_eq!(
            describe_holder(text, Some("here")).as_deref(),
            Some("pid 1 on host build-1, since 2026-01-01T00:00:00.000Z")
        );
        assert_eq!(describe_holder("pid: 7\n", None).as_deref(), Some("pid 7"));
        assert_eq!(describe_holder("", None), None);
        let own = holder_text(Some("here"));
        let d = describe_holder(&own, Some("here")).unwrap();
        let expected = format!(
            "this process, pid {} on host here, since ",
            std::process::id()
        );
        assert!(d.starts_with(&expected), "{d}");
        // The same pid on another host is another process.
        let d = describe_holder(&own, Some("elsewhere")).unwrap();
        assert!(
            d.starts_with(&format!("pid {} on host here", std::process::id())),
            "{d}"
        );
    }
}
