//! The `ixgw` binary as a user meets it: help, one-line errors, import, tenants, keys, the demo.

use crate::helpers::*;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ixgw(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ixgw"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("IXGW_DATABASE_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("ixgw runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A user error: exit 1, one line on stderr starting `ixgw: error:`, no panic, no backtrace.
fn assert_one_line_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected, got: {err}");
    assert!(err.starts_with("ixgw: error:"), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
}

const GOOD_1: &str = concat!(
    r#"{"tenant":"12345678","id":"g1","started_at":"2026-10-01T09:33:10Z","#,
    r#""pages":[{"pageNavigation":{"navigationTitle":"One"},"pageContent":{"contentSections":[]},"#,
    r#""timestamp":1790847190000}]}"#
);
const GOOD_2: &str = concat!(
    r#"{"tenant":"12345678","id":"g2","started_at":"2026-10-02T09:33:10Z","caller_attributes":[{"kind":"dtmf","#,
    r#""value":"1","allocated_at":"2026-10-02T09:33:11Z"}]}"#
);
const BAD: &str = concat!(
    r#"{"tenant":"12345678","id":"b1","started_at":"2026-10-01T09:33:10Z","#,
    r#""pages":[{"pageNavigation":{"navigationTitel":"typo"},"pageContent":{"contentSections":[]},"timestamp":1}]}"#
);

#[test]
fn help_explains_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = ixgw(&["--help"], dir.path());
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in ["serve", "migrate", "import", "tenant", "key", "--database", "--config"] {
        assert!(help.contains(word), "`{word}` missing from --help:\n{help}");
    }
    for (args, word) in [
        (vec!["serve", "--help"], "--demo"),
        (vec!["migrate", "--help"], "migrations"),
        (vec!["import", "--help"], "NDJSON"),
        (vec!["tenant", "add", "--help"], "--environment"),
        (vec!["tenant", "list", "--help"], "List"),
        (vec!["key", "add", "--help"], "--scope"),
        (vec!["key", "revoke", "--help"], "KEY_ID"),
    ] {
        let out = ixgw(&args, dir.path());
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains(word), "{args:?} help lacks `{word}`");
    }
}

#[test]
fn mistakes_get_one_line_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(&ixgw(&["--database", "mysql://x/y", "migrate"], dir.path()), "sqlite://PATH or postgres://");
    let started = Instant::now();
    let out = ixgw(&["--database", "postgres://nobody:secret@127.0.0.1:1/none", "migrate"], dir.path());
    assert_one_line_error(&out, "IXGW_DATABASE_URL");
    assert!(!text(&out.stderr).contains("secret"), "passwords never printed");
    assert!(started.elapsed() < Duration::from_secs(20), "fails fast");
    let db = format!("sqlite://{}/x.db", dir.path().display());
    assert_one_line_error(
        &ixgw(&["--database", &db, "import", "no-such-file.ndjson"], dir.path()),
        "cannot open no-such-file.ndjson",
    );
    assert!(ixgw(&["--database", &db, "tenant", "add", "555"], dir.path()).status.success());
    assert_one_line_error(&ixgw(&["--database", &db, "tenant", "add", "555"], dir.path()), "already exists");
    assert_one_line_error(
        &ixgw(&["--database", &db, "key", "add", "--tenant", "777"], dir.path()),
        "ixgw tenant add 777",
    );
    assert_one_line_error(&ixgw(&["--database", &db, "key", "revoke", "k_nope"], dir.path()), "no active key");
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[server]\nlisen = 1\n").unwrap();
    assert_one_line_error(&ixgw(&["--config", bad_config.to_str().unwrap(), "migrate"], dir.path()), "lisen");
}

#[test]
fn keys_are_printed_once_and_listed_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/k.db", dir.path().display());
    let run = |args: &[&str]| ixgw(&[&["--database", db.as_str()], args].concat(), dir.path());
    assert!(run(&["tenant", "add", "42", "--name", "Acme", "--environment", "prod", "--environment", "qa"])
        .status
        .success());
    let listed = text(&run(&["tenant", "list"]).stdout);
    assert!(listed.contains("42\tAcme\tprod (default), qa"), "{listed}");
    let out = run(&["key", "add", "--tenant", "42", "--environment", "qa", "--scope", "ingest"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout);
    assert_eq!(key.lines().count(), 1, "only the key: {key}");
    let key = key.trim();
    assert!(key.starts_with("ixgw_") && key.len() == 69);
    let list = text(&run(&["key", "list"]).stdout);
    assert!(!list.contains(key), "key list must never show a key");
    let id = list.split('\t').next().unwrap().to_string();
    assert!(list.contains("\t42\tqa\tingest\t") && list.contains("active"), "{list}");
    assert!(run(&["key", "revoke", &id]).status.success());
    assert!(text(&run(&["key", "list"]).stdout).contains("revoked"));
}

store_tests!(import_reports_bad_lines_and_keeps_the_good_ones);

async fn import_reports_bad_lines_and_keeps_the_good_ones(backend: Backend) {
    let db = backend.fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| ixgw(&[&["--database", db.url.as_str()], args].concat(), dir.path());
    assert!(run(&["tenant", "add", "12345678"]).status.success());
    let file = dir.path().join("mixed.ndjson");
    // Line 4 is not JSON: a trailing comma, at column 68 of the line.
    let trailing_comma = r#"{"tenant":"12345678","id":"t1","started_at":"2026-10-01T09:33:10Z",}"#;
    std::fs::write(&file, format!("{GOOD_1}\n{BAD}\n{GOOD_2}\n{trailing_comma}\n")).unwrap();
    let out = run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a rejected line makes the exit code non-zero");
    let err = text(&out.stderr);
    assert!(err.contains("mixed.ndjson:2: rejected: pages[0].pageNavigation.navigationTitel: unknown field"), "{err}");
    assert!(err.contains("mixed.ndjson:4: rejected: line 4, column 68: trailing comma\n"), "{err}");
    assert!(text(&out.stdout).contains("2 accepted, 2 rejected"), "{}", text(&out.stdout));

    // The good records are there, and importing them twice changes nothing.
    let good = dir.path().join("good.json");
    std::fs::write(&good, format!("[\n{GOOD_1},\n{GOOD_2}\n]\n")).unwrap();
    let database = ixgw_store::Database::connect(&db.url, &Default::default()).await.unwrap();
    let store = database.store();
    let at = ixgw_core::Partition { tenant: "12345678", environment: "production" };
    assert!(store.context_interaction(at, "g1").await.unwrap().is_some());
    assert!(store.context_interaction(at, "g2").await.unwrap().is_some());
    assert!(store.context_interaction(at, "b1").await.unwrap().is_none());
    let out = run(&["import", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = snapshot(&*store).await;
    let out = run(&["import", good.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(snapshot(&*store).await, before, "a second import must leave the store as it was");

    // stdin, and a record for an unknown tenant.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ixgw"))
        .args(["--database", db.url.as_str(), "import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(GOOD_1.replace("12345678", "404").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("stdin:1: rejected: tenant: unknown tenant `404`"), "{}", text(&out.stderr));
}

/// What the read API can see of the test's records.
async fn snapshot(store: &dyn ixgw_core::HistoryStore) -> Vec<String> {
    let at = ixgw_core::Partition { tenant: "12345678", environment: "production" };
    let mut out = Vec::new();
    for id in ["g1", "g2"] {
        out.push(format!("{:?}", store.context_interaction(at, id).await.unwrap()));
        out.push(format!(
            "{:?}",
            store.flow(at, ixgw_core::FlowTarget::UniqueId(id), ixgw_core::Millis(0)).await.unwrap()
        ));
    }
    out.push(format!(
        "{:?}",
        store.flow(at, ixgw_core::FlowTarget::CallerAttribute("1"), ixgw_core::Millis(0)).await.unwrap()
    ));
    out
}

/// The README's run command: `ixgw serve --demo` serves the demo on loopback and says what to try.
#[test]
fn serve_demo_serves_health_readiness_and_the_demo_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ixgw"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("IXGW_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut base = None;
    let mut printed = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("Interaction History Gateway demo on ") {
            base = Some(rest.trim().to_string());
        }
        if line.contains("/readyz") {
            break;
        }
    }
    let base = base.unwrap_or_else(|| panic!("no address printed: {printed}"));
    assert!(printed.contains("demo-application-key") && printed.contains("interactiondata.wsdl"), "{printed}");
    // The flow explorer comes first.
    let explorer = format!("Flow explorer: {base}/ui/ ");
    assert!(printed.starts_with(&explorer), "{printed}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let page = client.get(format!("{base}/ui/")).send().await.unwrap();
        assert_eq!(
            (page.status().as_u16(), page.headers()["content-type"].to_str().unwrap()),
            (200, "text/html; charset=utf-8")
        );
        assert_eq!(client.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
        assert_eq!(client.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);
    });
    assert!(dir.path().join("data/ixgw-demo.db").exists(), "the demo's embedded database lives under ./data/");
    let _ = child.kill();
    let _ = child.wait();
    // Refuses to expose the demo key beyond loopback.
    let out = ixgw(&["serve", "--demo", "--listen", "0.0.0.0:0"], dir.path());
    assert_one_line_error(&out, "loopback");
}

/// `serve --listen 127.0.0.1:0` names the port it got, so that scripts need not guess a free one.
#[test]
fn serve_on_port_0_prints_the_address_it_bound() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("store.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ixgw"))
        .args(["--database", &database, "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let first = stdout.lines().next().map(Result::unwrap).unwrap_or_default();
    let base = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("no address printed: {first:?}"));
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");
    let status = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(format!("{base}/healthz")).await.unwrap().status() });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
}

#[test]
fn the_core_depends_on_no_web_xml_or_sql_crate() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "ixgw-core", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tree = text(&out.stdout);
    assert!(tree.contains("ixgw-core"), "{tree}");
    for forbidden in ["actix", "sqlx", "quick-xml", "yaserde", "xml-rs", "hyper", "tokio"] {
        assert!(!tree.lines().any(|l| l.starts_with(forbidden)), "ixgw-core depends on {forbidden}:\n{tree}");
    }
}
