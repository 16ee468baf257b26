//! The real `ixgw` binary and PostgreSQL clusters of a test's own, for the reliability tests
//! (shutdown, outages, the hot standby, `kill -9`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TENANT: &str = "12345678";
pub const DEMO_KEY: &str = "demo-application-key";
pub const FULL_FLOW: &str = "/interact/agent/version/2/account/12345678/interactiondata/040100713/fullFlow";
pub const SOAP_URL: &str = "/interact/version/2/interactiondata/soap";
pub const SOAP_BY_UUID: &str = concat!(
    r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:s="http://com/jacada/interact/interactiondata/soap"><e:Body><s:GetInteractionFullFlowByUUIDRequest>"#,
    r#"<s:uniqueId>040100713</s:uniqueId></s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"#
);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A number from the environment (the scripts under scripts/reliability run these tests longer).
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Milliseconds since `origin`.
pub fn ms_since(origin: Instant) -> u64 {
    origin.elapsed().as_millis() as u64
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// `ixgw` with these arguments and environment, its stderr (the log) in `log`.
pub fn ixgw(args: &[&str], env: &[(&str, &str)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ixgw"));
    cmd.args(args)
        .envs(env.iter().copied())
        .env_remove("IXGW_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

/// A running `ixgw serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// `ixgw serve --demo` over `database`, with the log in `dir`.
    pub async fn demo(dir: &Path, database: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(format!("server-{port}.log"));
        let child = ixgw(&["--database", database, "serve", "--demo", "--listen", &listen], env, &log).spawn().unwrap();
        let server = Server { child, base: format!("http://{listen}"), log };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready: {}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    pub async fn exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < within, "the server did not exit within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `/readyz`'s status (0: no answer).
    pub async fn readiness(&self) -> u16 {
        match reqwest::Client::new().get(format!("{}/readyz", self.base)).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Waits until `/readyz` answers `status`, at most `within`; how long that took.
    pub async fn await_readiness(&self, status: u16, within: Duration) -> Duration {
        let started = Instant::now();
        while self.readiness().await != status {
            assert!(started.elapsed() < within, "/readyz did not answer {status} within {within:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of the test's own (`scripts/pg-throwaway`), so that stopping it disturbs
/// no other test; deleted on drop.
pub struct Cluster {
    pub dir: PathBuf,
    pub url: String,
}

impl Cluster {
    pub fn script(&self, command: &str) {
        let status = Command::new(repo().join("scripts/pg-throwaway"))
            .args([command, self.dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success(), "pg-throwaway {command}");
    }

    /// A new cluster in `dir` (which the `postgres` user must be able to enter when run as root).
    pub fn start(dir: PathBuf) -> Self {
        Self::start_with(dir, "")
    }

    /// [`Cluster::start`] with more server options (`-c name=value`), kept for its restarts and
    /// standbys.
    pub fn start_with(dir: PathBuf, options: &str) -> Self {
        Self::run(&["start", dir.to_str().unwrap()], options, dir.clone())
    }

    /// A streaming hot standby of this cluster in `dir` (`pg_basebackup -R`).
    pub fn standby(&self, dir: PathBuf) -> Self {
        Self::run(&["standby", self.dir.to_str().unwrap(), dir.to_str().unwrap()], "", dir.clone())
    }

    fn run(args: &[&str], options: &str, dir: PathBuf) -> Self {
        let out = Command::new(repo().join("scripts/pg-throwaway"))
            .args(args)
            .env("IXGW_PG_OPTIONS", options)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg-throwaway {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let url = text.trim().strip_prefix("export IXGW_TEST_POSTGRES_URL=").expect("the cluster's URL").to_string();
        Cluster { dir, url }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.script("stop");
    }
}

/// Whether this machine has PostgreSQL's binaries (the tests that start clusters of their own);
/// the test command requires them (`IXGW_REQUIRE_POSTGRES=1`).
pub fn postgres_binaries() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v initdb || ls /usr/lib/postgresql/*/bin/initdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("IXGW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("IXGW_REQUIRE_POSTGRES=1 but PostgreSQL's initdb is not installed");
    }
    found
}

/// A temporary folder the `postgres` user can enter (clusters run as `postgres` under root).
pub fn cluster_home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}
