//! Throw-away databases for tests: a temporary SQLite file always, and a fresh PostgreSQL
//! database when `CASEBRIDGE_TEST_POSTGRES_URL` names a server.

use std::path::PathBuf;

use sqlx::{AnyConnection, Connection, Executor};

use crate::SqlStore;

/// The variable that names the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "CASEBRIDGE_TEST_POSTGRES_URL";

/// A database that exists for one test and is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { server_url: String, name: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("casebridge-test-{}.db", uuid::Uuid::new_v4()));
        Self {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A new, empty PostgreSQL database, or `None` when no server is configured.
    pub async fn postgres() -> Option<Self> {
        let server_url = std::env::var(POSTGRES_URL_VAR).ok()?;
        sqlx::any::install_default_drivers();
        let name = format!("casebridge_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AnyConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but unreachable: {e}"));
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        admin.close().await.ok();
        let url = replace_database(&server_url, &name);
        Some(Self {
            url,
            cleanup: Cleanup::PostgresDatabase { server_url, name },
        })
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> SqlStore {
        let store = SqlStore::connect(&self.url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

fn replace_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { server_url, name } => {
                let (server_url, name) = (server_url.clone(), name.clone());
                // Drop runs outside any runtime guarantee: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let mut admin = AnyConnection::connect(&server_url).await.ok()?;
                        admin
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await
                            .ok()?;
                        Some(())
                    })
                })
                .join();
            }
        }
    }
}

/// Declares one test module per story with two tests: `sqlite` always, and `postgres`
/// when [`POSTGRES_URL_VAR`] is set. `|db, story| body` turns the fresh [`TestDatabase`]
/// into what the story takes and runs it:
///
/// ```ignore
/// database_stories!(|db, story| story(db.store().await).await; first_story, second_story);
/// ```
#[macro_export]
macro_rules! database_stories {
    (|$db:ident, $story:ident| $run:expr; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let $db = $crate::testing::TestDatabase::sqlite();
                let $story = super::$name;
                $run
            }

            #[tokio::test]
            async fn postgres() {
                let Some($db) = $crate::testing::TestDatabase::postgres().await else {
                    eprintln!("skipped: set {} to run on PostgreSQL", $crate::testing::POSTGRES_URL_VAR);
                    return;
                };
                let $story = super::$name;
                $run
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
