//! The database behind the API: SQLite (a file, made at first start) or PostgreSQL,
//! through one pool (sqlx's `Any` driver) and one set of queries in portable SQL.
//! Migrations (`server/migrations`) run at every start; sqlx records which ran.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use super::directory::{Privacy, RoomRecord};

/// Where the database is when `--database-url` is not given: next to where the
/// server runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:nonstop.db";

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug)]
pub enum StoreError {
    /// A room of that name exists.
    NameTaken,
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => StoreError::NameTaken,
            _ => StoreError::Db(e),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NameTaken => f.write_str("a room of that name exists"),
            StoreError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects to `url` (`sqlite:FILE` or `postgres://…`) and brings its schema up to
    /// date. A SQLite file that does not exist yet is created.
    pub async fn open(url: &str) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let url = with_create(url);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await
            .map_err(|e| format!("cannot open the database {}: {e}", redacted(&url)))?;
        MIGRATIONS.run(&pool).await.map_err(|e| {
            format!(
                "cannot bring the database {} up to date: {e}",
                redacted(&url)
            )
        })?;
        Ok(Store { pool })
    }

    /// The secret named `name`, made from `fresh` the first time it is asked for. Two
    /// nodes starting at once agree: the first insert wins, both read it back.
    pub async fn secret(&self, name: &str, fresh: String) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    /// Makes the stored key digests exactly `digests` (the key file is the list of
    /// keys: one removed from it stops working).
    pub async fn set_api_keys(&self, digests: &[String], now: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let stored: Vec<String> = sqlx::query("SELECT digest FROM api_keys")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get("digest"))
            .collect::<Result<_, _>>()?;
        for old in stored.iter().filter(|d| !digests.contains(d)) {
            sqlx::query("DELETE FROM api_keys WHERE digest = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        for new in digests.iter().filter(|d| !stored.contains(d)) {
            sqlx::query("INSERT INTO api_keys (digest, added_at) VALUES ($1, $2)")
                .bind(new)
                .bind(now as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn api_keys(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT digest FROM api_keys")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("digest"))
            .collect::<Result<_, _>>()?)
    }

    pub async fn insert_room(&self, room: &RoomRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rooms (name, privacy, max_participants, relay_above, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&room.name)
        .bind(room.privacy.as_str())
        .bind(room.max_participants.map(i64::from))
        .bind(room.relay_above.map(i64::from))
        .bind(room.expires_at.map(|t| t as i64))
        .bind(room.created_at as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes everything but the name and creation time. `false`: no such room.
    pub async fn update_room(&self, room: &RoomRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE rooms SET privacy = $2, max_participants = $3, relay_above = $4, expires_at = $5 \
             WHERE name = $1",
        )
        .bind(&room.name)
        .bind(room.privacy.as_str())
        .bind(room.max_participants.map(i64::from))
        .bind(room.relay_above.map(i64::from))
        .bind(room.expires_at.map(|t| t as i64))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `false`: no such room.
    pub async fn delete_room(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rooms WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn room(&self, name: &str) -> Result<Option<RoomRecord>, StoreError> {
        let row = sqlx::query(&format!("{SELECT_ROOM} WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| room_of(&r)).transpose()
    }

    /// Up to `limit` rooms in name order, after `after` if given.
    pub async fn rooms(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RoomRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SELECT_ROOM} WHERE name > $1 ORDER BY name LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(room_of).collect()
    }

    /// Every room, for the directory at start.
    pub async fn all_rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let rows = sqlx::query(SELECT_ROOM).fetch_all(&self.pool).await?;
        rows.iter().map(room_of).collect()
    }
}

const SELECT_ROOM: &str =
    "SELECT name, privacy, max_participants, relay_above, expires_at, created_at FROM rooms";

fn room_of(row: &AnyRow) -> Result<RoomRecord, StoreError> {
    let privacy: String = row.try_get("privacy")?;
    let max: Option<i64> = row.try_get("max_participants")?;
    let relay_above: Option<i64> = row.try_get("relay_above")?;
    let expires: Option<i64> = row.try_get("expires_at")?;
    let created: i64 = row.try_get("created_at")?;
    Ok(RoomRecord {
        name: row.try_get("name")?,
        // Only this module writes the column.
        privacy: Privacy::parse(&privacy).unwrap_or(Privacy::Private),
        max_participants: max.and_then(|n| u32::try_from(n).ok()),
        relay_above: relay_above.and_then(|n| u32::try_from(n).ok()),
        expires_at: expires.map(|t| t.max(0) as u64),
        created_at: created.max(0) as u64,
    })
}

/// A SQLite URL that creates its file when missing (sqlx's default is to refuse).
fn with_create(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:…{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_their_file_and_passwords_stay_out_of_messages() {
        assert_eq!(
            with_create("sqlite:nonstop.db"),
            "sqlite:nonstop.db?mode=rwc"
        );
        assert_eq!(with_create("sqlite:a.db?x=1"), "sqlite:a.db?x=1&mode=rwc");
        assert_eq!(with_create("sqlite:a.db?mode=ro"), "sqlite:a.db?mode=ro");
        assert_eq!(
            redacted("postgres://me:hunter2@db/x"),
            "postgres://me:…@db/x"
        );
        assert_eq!(redacted("sqlite:nonstop.db"), "sqlite:nonstop.db");
    }
}
