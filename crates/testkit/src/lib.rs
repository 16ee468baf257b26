//! Test support shared by the store's contract tests and the server's HTTP tests.
//!
//! Every test gets a database of its own: a fresh SQLite file in a temporary folder, or a fresh
//! PostgreSQL database on the server named by `IXGW_TEST_POSTGRES_URL` (the test command starts a
//! throwaway cluster and sets it). Without that variable the PostgreSQL variants skip, unless
//! `IXGW_REQUIRE_POSTGRES=1`, which makes them fail instead — the test command sets it, so CI can
//! never pass with PostgreSQL silently skipped.

use sqlx::Connection;

/// The history tables, each with the columns that order its rows: what a test compares when it says
/// "the store is identical" (the key tables come before them where a test counts those too).
pub const HISTORY_TABLES: [(&str, &str); 6] = [
    ("interactions", "pk"),
    ("interaction_services", "interaction_pk, service_id"),
    ("pages", "interaction_pk, seq"),
    ("caller_attributes", "interaction_pk, seq"),
    ("current_attributes", "interaction_pk, kind"),
    ("photos", "interaction_pk, path"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as this value.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// Whether PostgreSQL tests should run; panics if they are required but not configured.
    pub fn postgres_enabled() -> bool {
        match std::env::var("IXGW_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => true,
            _ if std::env::var("IXGW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!(
                    "IXGW_REQUIRE_POSTGRES=1 but IXGW_TEST_POSTGRES_URL is not set: start one with \
                 scripts/pg-throwaway"
                )
            }
            _ => {
                eprintln!("skipped: IXGW_TEST_POSTGRES_URL is not set (scripts/pg-throwaway start)");
                false
            }
        }
    }

    /// A fresh, empty database of this kind.
    pub async fn fresh_database(self) -> TestDatabase {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("ixgw.db").display());
                TestDatabase { url, backend: self, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let admin = std::env::var("IXGW_TEST_POSTGRES_URL").expect("IXGW_TEST_POSTGRES_URL");
                let name = format!("ixgw_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("the test PostgreSQL answers");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE");
                let _ = conn.close().await;
                TestDatabase { url: with_database(&admin, &name), backend: self, _dir: None }
            }
        }
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs each listed test twice, as `sqlite::NAME` and `postgres::NAME`: the tests are plain
/// `async fn NAME(backend: Backend)` of the calling module (so rustfmt formats them), and this
/// generates their `#[tokio::test]` wrappers. Use: `ixgw_testkit::store_tests!(first, second);`.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::Backend::postgres_enabled() {
                        super::$name($crate::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            super::with_database("postgres://u@127.0.0.1:5432/postgres", "t1"),
            "postgres://u@127.0.0.1:5432/t1"
        );
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "t2"),
            "postgres://u@h/t2?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h", "t3"), "postgres://u@h/t3");
    }
}
