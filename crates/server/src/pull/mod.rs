//! `ixgw pull`: copies history from a running server that speaks the Interact REST API or the
//! Context Services API into this gateway's store, through the same import session as
//! `ixgw import` (batched; each interaction stored whole or not at all).
//!
//! A pull is a list of items (interactions) fetched by `--concurrency` workers at most `--rps`
//! requests a second, each request retried with backoff when that may help ([`client`]). One
//! writer merges each fetched part with what the target holds ([`merge`]) and stores it; once the
//! transaction holding it commits, its key goes into the checkpoint ([`checkpoint`]), so a rerun
//! skips it. What cannot be pulled is written, with the reason, to the failures file.

mod checkpoint;
mod command;
mod context;
mod fill;
mod inputs;
mod interact;
mod merge;

pub use command::{run as run_command, PullCommand};
pub use context::{pull_context_services, ContextServicesPull};
pub use fill::{fill, FillSource, Filled};
pub use interact::{pull_interact, InteractPull};
pub use ixgw_upstream::RetryPolicy;

use checkpoint::{Checkpoint, Failures};
use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use ixgw_core::ingest::{Frame, ImportSession, Outcome};
use ixgw_core::model::record::{parse_strict, InteractionRecord};
use ixgw_core::{HistoryService, Millis, Partition, StoreError};
use ixgw_store::Database;
use ixgw_upstream::{Answer, Failure, SourceClient};
use merge::{merge, Part, Start};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How a pull runs, whatever its source.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Items fetched at once.
    pub concurrency: usize,
    /// Requests per second at most, across all workers.
    pub requests_per_second: Option<f64>,
    /// How long one request may take, its body included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Where the keys of stored items go (default: the input file's name + `.checkpoint`).
    pub checkpoint: Option<PathBuf>,
    /// Where failures go (default: the input file's name + `.failed.csv`).
    pub failures: Option<PathBuf>,
    /// Pull everything again, whatever the checkpoint says.
    pub force: bool,
    /// Show a progress bar on stderr (only drawn on a terminal).
    pub progress: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            requests_per_second: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            checkpoint: None,
            failures: None,
            force: false,
            progress: true,
        }
    }
}

/// The server a pull reads, and how it is asked.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its base URL (`scheme://host[:port][/base/path]`).
    pub from: String,
    /// Sent as `Application-Key`.
    pub key: Option<String>,
    /// Sent as `Environment-Name`; `None`: the source's default.
    pub environment: Option<String>,
}

impl Source {
    /// The client of this source; `tenant` is the header that names the tenant there.
    fn client(&self, tenant: (&'static str, String), options: &PullOptions) -> anyhow::Result<SourceClient> {
        let scheme_ok = self.from.starts_with("http://") || self.from.starts_with("https://");
        anyhow::ensure!(scheme_ok, "--from must be an http:// or https:// URL");
        let mut headers = vec![tenant];
        headers.extend(self.key.clone().map(|k| ("application-key", k)));
        headers.extend(self.environment.clone().map(|e| ("environment-name", e)));
        SourceClient::new(ixgw_upstream::ClientSettings {
            base_url: self.from.clone(),
            headers,
            timeout: options.timeout,
            policy: options.retry,
            requests_per_second: options.requests_per_second,
        })
        .map_err(anyhow::Error::msg)
    }
}

/// Where pulled interactions go: a tenant and environment of the target store, which must exist.
pub struct Target<'a> {
    pub service: &'a HistoryService,
    pub database: &'a Database,
    pub tenant: String,
    pub environment: String,
    /// The target database's URL, password hidden: part of the checkpoint's identity.
    pub label: String,
}

impl Target<'_> {
    fn partition(&self) -> Partition<'_> {
        Partition { tenant: &self.tenant, environment: &self.environment }
    }
}

/// What a pull did.
#[derive(Debug, Default)]
pub struct PullReport {
    /// Interactions stored by this run.
    pub stored: usize,
    /// Items an earlier run stored (per the checkpoint): interactions, and Context Services lists
    /// whose every interaction is stored.
    pub skipped: usize,
    pub failures: Failures,
    /// Why the pull stopped before its end, if it did.
    pub stopped: Option<String>,
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
    /// Things the user should know that are not failures.
    pub notes: Vec<String>,
    pub checkpoint: PathBuf,
    pub failures_file: PathBuf,
    /// Starts derived from pages or allocations, or taken as the time of the pull.
    starts_derived: usize,
    starts_now: usize,
    /// Interactions stored without an end: no ids-file column, no stored record and no Context
    /// Services resource gave one (still running, or ended where nobody said so).
    pub without_end: Vec<String>,
}

impl PullReport {
    /// Whether everything asked for is stored.
    pub fn complete(&self) -> bool {
        self.failures.is_empty() && self.stopped.is_none()
    }

    /// The summary printed at the end.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.stored as f64 / secs } else { 0.0 };
        let mut lines = vec![format!("stored {} interactions in {secs:.1} s ({rate:.1} interactions/s)", self.stored)];
        if self.skipped > 0 {
            lines.push(format!(
                "skipped {} stored by an earlier run (checkpoint {}; --force pulls them again)",
                self.skipped,
                self.checkpoint.display()
            ));
        }
        if let Some(why) = &self.stopped {
            lines.push(format!("stopped early: {why}"));
        }
        if !self.failures.is_empty() {
            lines.push(format!(
                "not pulled: {} (reasons in {}; the same command tries them again)",
                self.failures.rows.len(),
                self.failures_file.display()
            ));
        }
        lines.push(format!("requests: {} ({} retried)", self.requests, self.retries));
        if self.starts_derived > 0 {
            lines.push(format!(
                "note: {} interactions had no start in the ids file: taken from their first page or caller attribute (docs/MIGRATION.md)",
                self.starts_derived
            ));
        }
        if self.starts_now > 0 {
            lines.push(format!(
                "note: {} interactions had no start, no page and no caller attribute: their start is the time of the pull",
                self.starts_now
            ));
        }
        if !self.without_end.is_empty() {
            const NAMED: usize = 10;
            let mut names = self.without_end.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
            if self.without_end.len() > NAMED {
                names.push_str(&format!(" and {} more", self.without_end.len() - NAMED));
            }
            lines.push(format!(
                "note: {} interactions have no end (still running, or nobody gave one: an ended_at column in the ids file, \
                 or `ixgw pull context-services --interactions`): {names}",
                self.without_end.len()
            ));
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines.join("\n")
    }
}

/// One interaction to fetch: its id, the checkpoint keys storing it settles, and what its fetch
/// needs.
struct Job<W> {
    id: String,
    keys: Vec<String>,
    work: W,
}

/// The checkpoint, the failures and the counts of one pull.
struct Ledger {
    checkpoint: Checkpoint,
    report: PullReport,
    bar: ProgressBar,
}

impl Ledger {
    fn open(header: &str, input: &std::path::Path, options: &PullOptions) -> anyhow::Result<Self> {
        let beside = |suffix: &str| {
            let mut name = input.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let checkpoint_path = options.checkpoint.clone().unwrap_or_else(|| beside(".checkpoint"));
        let failures_file = options.failures.clone().unwrap_or_else(|| beside(".failed.csv"));
        let checkpoint = Checkpoint::open(&checkpoint_path, header, options.force)?;
        let report = PullReport { checkpoint: checkpoint_path, failures_file, ..PullReport::default() };
        Ok(Self { checkpoint, report, bar: ProgressBar::hidden() })
    }

    /// A bar of `len` items (drawn on a terminal only, and only if asked).
    fn start_bar(&mut self, len: usize, what: &str, options: &PullOptions) {
        self.bar.finish_and_clear();
        self.bar = if options.progress { ProgressBar::new(len as u64) } else { ProgressBar::hidden() };
        self.bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        self.bar.set_message(what.to_string());
    }

    /// Writes the failures file and the final counts.
    fn finish(mut self, started: Instant, counters: &ixgw_upstream::Counters) -> anyhow::Result<PullReport> {
        self.bar.finish_and_clear();
        self.report.elapsed = started.elapsed();
        self.report.requests = counters.requests.load(std::sync::atomic::Ordering::Relaxed);
        self.report.retries = counters.retries.load(std::sync::atomic::Ordering::Relaxed);
        self.report.failures.write(&self.report.failures_file)?;
        Ok(self.report)
    }
}

/// Items that fail in a row, after their retries, before the pull concludes that the source is
/// gone and stops (a rerun resumes).
fn give_up_after(concurrency: usize) -> usize {
    (2 * concurrency).max(8)
}

/// Fetches `jobs` with `fetch`, `concurrency` at a time, and stores what they bring; failures go
/// to the ledger. `Err` only when the target store fails (the checkpoint holds what was stored).
async fn run_jobs<W, F, Fut>(
    target: &Target<'_>,
    ledger: &mut Ledger,
    concurrency: usize,
    jobs: Vec<Job<W>>,
    fetch: F,
) -> anyhow::Result<()>
where
    F: Fn(String, W) -> Fut,
    Fut: Future<Output = Result<Part, Failure>>,
{
    let concurrency = concurrency.max(1);
    let all_ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let (sender, mut receiver) = tokio::sync::mpsc::channel(concurrency * 2);
    let fetching = async move {
        let mut results = stream::iter(jobs)
            .map(|job| {
                let fetched = fetch(job.id.clone(), job.work);
                async move { (job.id, job.keys, fetched.await) }
            })
            .buffer_unordered(concurrency);
        while let Some(result) = results.next().await {
            if sender.send(result).await.is_err() {
                break;
            }
        }
    };
    let mut seen: HashSet<String> = HashSet::new();
    let seen_ids = &mut seen;
    let ledger_in = &mut *ledger;
    // Owns the receiver: when storing ends, for any reason, the fetching side stops at its next send.
    let storing = async move {
        let ledger = ledger_in;
        let mut writer = Writer::new(target);
        let mut gave_up_in_a_row = 0;
        loop {
            let received = match tokio::time::timeout(FLUSH_EVERY, receiver.recv()).await {
                Ok(Some(received)) => received,
                Ok(None) => break,
                Err(_idle) => {
                    writer.flush(ledger).await?;
                    continue;
                }
            };
            let (id, keys, fetched) = received;
            seen_ids.insert(id.clone());
            ledger.bar.inc(1);
            match fetched {
                Ok(part) => {
                    gave_up_in_a_row = 0;
                    writer.add(ledger, id, keys, part).await?;
                }
                Err(Failure::Fatal(reason)) => {
                    ledger.report.failures.add("interaction", &id, &reason);
                    ledger.report.stopped = Some(reason);
                    break;
                }
                Err(failure) => {
                    gave_up_in_a_row = if matches!(failure, Failure::GaveUp(_)) { gave_up_in_a_row + 1 } else { 0 };
                    ledger.report.failures.add("interaction", &id, failure.reason());
                    if gave_up_in_a_row >= give_up_after(concurrency) {
                        ledger.report.stopped = Some(format!(
                            "the last {gave_up_in_a_row} interactions failed after every retry: the source seems to be down"
                        ));
                        break;
                    }
                }
            }
            if writer.last_flush.elapsed() >= FLUSH_EVERY {
                writer.flush(ledger).await?;
            }
        }
        drop(receiver);
        writer.flush(ledger).await
    };
    let ((), stored) = futures_util::future::join(fetching, storing).await;
    if let Some(why) = ledger.report.stopped.clone() {
        for id in all_ids.iter().filter(|id| !seen.contains(*id)) {
            ledger.report.failures.add("interaction", id, &format!("not tried: the pull stopped ({why})"));
        }
    }
    stored
}

/// Stored at least this often while items keep coming, so that the checkpoint follows.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Merges fetched parts with the stored records and feeds them to the import session.
struct Writer<'t, 'a> {
    target: &'t Target<'a>,
    session: ImportSession<'t>,
    /// The frame's line → the interaction and the keys its storing settles.
    in_flight: HashMap<usize, (String, Vec<String>)>,
    /// Records handed to the session and not yet settled, by id: the base of a later part of the
    /// same interaction (the store does not have them yet).
    unsettled: HashMap<String, (usize, InteractionRecord)>,
    line: usize,
    last_flush: Instant,
}

impl<'t, 'a> Writer<'t, 'a> {
    fn new(target: &'t Target<'a>) -> Self {
        Self {
            target,
            session: ImportSession::new(target.service),
            in_flight: HashMap::new(),
            unsettled: HashMap::new(),
            line: 0,
            last_flush: Instant::now(),
        }
    }

    async fn add(&mut self, ledger: &mut Ledger, id: String, keys: Vec<String>, part: Part) -> anyhow::Result<()> {
        let at = self.target.partition();
        let stored = match self.unsettled.get(&id) {
            Some((_, record)) => Some(record.clone()),
            None => match self.target.database.record(at, &id).await {
                Ok(stored) => stored,
                Err(e @ StoreError::Unavailable(_)) => return Err(stopped(e)),
                Err(e) => {
                    ledger.report.failures.add(
                        "interaction",
                        &id,
                        &format!("the stored interaction cannot be read: {e}"),
                    );
                    return Ok(());
                }
            },
        };
        let (record, start) = merge(at, &id, stored, part, Millis::now());
        match start {
            Start::Derived => ledger.report.starts_derived += 1,
            Start::Now => ledger.report.starts_now += 1,
            Start::Given | Start::Kept => {}
        }
        if record.ended_at.is_none() {
            ledger.report.without_end.push(id.clone());
        }
        let text = serde_json::to_string(&record)?;
        self.line += 1;
        self.in_flight.insert(self.line, (id.clone(), keys));
        self.unsettled.insert(id, (self.line, record));
        let frame = Frame { index: self.line - 1, line: self.line, column: 1, text: Ok(text) };
        let outcomes = self.session.add(frame).await.map_err(stopped)?;
        self.settle(ledger, outcomes)
    }

    async fn flush(&mut self, ledger: &mut Ledger) -> anyhow::Result<()> {
        self.last_flush = Instant::now();
        if self.in_flight.is_empty() {
            return Ok(());
        }
        let outcomes = self.session.flush().await.map_err(stopped)?;
        self.settle(ledger, outcomes)
    }

    /// Records what the session stored (or refused) in the checkpoint and the report.
    fn settle(&mut self, ledger: &mut Ledger, outcomes: Vec<Outcome>) -> anyhow::Result<()> {
        let mut done = Vec::new();
        for outcome in outcomes {
            let Some((id, keys)) = self.in_flight.remove(&outcome.line) else { continue };
            if self.unsettled.get(&id).is_some_and(|(line, _)| *line == outcome.line) {
                self.unsettled.remove(&id);
            }
            match outcome.result {
                Ok(_) => {
                    ledger.report.stored += 1;
                    done.extend(keys);
                }
                Err(refused) => {
                    ledger.report.failures.add("interaction", &id, &format!("the target refused it: {refused}"))
                }
            }
        }
        if !done.is_empty() {
            ledger.checkpoint.record(&done)?;
        }
        Ok(())
    }
}

fn stopped(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!(
        "the target database failed: {e}; what was stored is in the checkpoint, run the same command again to go on"
    )
}

/// The answer's body as JSON text. A body cut short is worth another try.
fn json_text(answer: &Answer) -> Result<&str, Failure> {
    let text = std::str::from_utf8(&answer.body).map_err(|_| Failure::permanent("the answer is not UTF-8"))?;
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(text),
        Err(e) if e.is_eof() => Err(Failure::transient(format!("the answer was cut short ({e})"))),
        Err(e) => Err(Failure::permanent(format!("the answer is not JSON ({e})"))),
    }
}

/// The answer's body as a record-format type, as strictly as `ixgw import` reads records: members
/// the gateway does not know are refused with their path.
fn json_body<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, Failure> {
    parse_strict(json_text(answer)?)
        .map_err(|e| Failure::permanent(format!("the answer holds what the gateway cannot store: {e}")))
}

/// A path segment, percent-encoded (everything but the unreserved characters).
fn segment(text: &str) -> String {
    const COMPONENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(text, COMPONENT).to_string()
}

/// Items of `entries` whose keys the checkpoint does not all hold; counts the others as skipped.
fn not_yet_stored<W>(ledger: &mut Ledger, jobs: Vec<Job<W>>) -> Vec<Job<W>> {
    let before = jobs.len();
    let todo: Vec<Job<W>> =
        jobs.into_iter().filter(|job| !job.keys.iter().all(|k| ledger.checkpoint.contains(k))).collect();
    ledger.report.skipped += before - todo.len();
    todo
}
