//! The schema in PostgreSQL: versioned migrations, applied under an
//! advisory lock so that nodes starting at the same moment migrate once.
//!
//! A schema is synchronik's when its `meta` table says so
//! (`application = synchronik`). A schema that exists, holds tables and is
//! not synchronik's belongs to another application: it is refused, never
//! written. A schema newer than this code knows is refused too.

use tokio_postgres::GenericClient;

/// The version of the schema this code writes.
pub const VERSION: i64 = 5;

/// The migrations, in order: `MIGRATIONS[i]` takes a schema from version
/// `i` to `i + 1`. `{schema}` stands for the schema's quoted name.
pub const MIGRATIONS: [&str; VERSION as usize] = [
    include_str!("migrations/001_base.sql"),
    include_str!("migrations/002_leases.sql"),
    include_str!("migrations/003_identifiers.sql"),
    include_str!("migrations/004_claims.sql"),
    include_str!("migrations/005_history_groups.sql"),
];

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a migration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The version found (0: no schema yet).
    pub from: i64,
    /// The version now.
    pub to: i64,
}

/// Why a schema cannot be used.
#[derive(Debug)]
pub enum SchemaError {
    Db(tokio_postgres::Error),
    /// The schema holds tables and is not synchronik's.
    Foreign {
        tables: Vec<String>,
    },
    /// A newer synchronik wrote it.
    Newer {
        version: i64,
    },
    /// Its `meta` table says something this code cannot read.
    Unreadable(String),
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        SchemaError::Db(e)
    }
}

/// Creates or migrates the schema `schema` to [`VERSION`], in one
/// transaction under an advisory lock on its name.
pub async fn migrate(
    client: &mut tokio_postgres::Client,
    schema: &str,
) -> Result<Migrated, SchemaError> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('synchronik:' || $1::text, 0))",
        &[&schema],
    )
    .await?;
    let from = current_version(&tx, schema).await?;
    if from > VERSION {
        return Err(SchemaError::Newer { version: from });
    }
    let quoted = quote_ident(schema);
    if from == 0 {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))
            .await?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(&sql.replace("{schema}", &quoted)).await?;
        let version = (i + 1).to_string();
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Migrated { from, to: VERSION })
}

/// The version of `schema` (0 when it does not exist or is empty), or why
/// it cannot be used.
async fn current_version(tx: &impl GenericClient, schema: &str) -> Result<i64, SchemaError> {
    let tables: Vec<String> = tx
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
            &[&schema],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if tables.is_empty() {
        return Ok(0);
    }
    if !tables.iter().any(|t| t == "meta") {
        return Err(SchemaError::Foreign { tables });
    }
    let quoted = quote_ident(schema);
    let rows = tx
        .query(
            &format!("SELECT key, value FROM {quoted}.meta WHERE key IN ('application', 'schema_version')"),
            &[],
        )
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        // A `meta` table of another shape: another application's.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_COLUMN) => {
            return Err(SchemaError::Foreign { tables })
        }
        Err(e) => return Err(e.into()),
    };
    let get = |k: &str| {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == k)
            .map(|r| r.get::<_, String>(1))
    };
    if get("application").as_deref() != Some("synchronik") {
        return Err(SchemaError::Foreign { tables });
    }
    match get("schema_version") {
        Some(v) => v
            .parse()
            .map_err(|_| SchemaError::Unreadable(format!("its schema_version is {v:?}"))),
        None => Err(SchemaError::Unreadable("it has no schema_version".into())),
    }
}
