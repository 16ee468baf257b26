//! `ixgw import`: files (or stdin) of records into the store, through the core's one ingest path.

use indicatif::{ProgressBar, ProgressStyle};
use ixgw_core::ingest::{Frame, ImportSession, Outcome, RecordSplitter, DEFAULT_MAX_RECORD_BYTES};
use ixgw_core::{HistoryService, StoreError};
use std::io::Read;

/// A record that was not stored: where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub source: String,
    pub line: usize,
    /// `path: reason`.
    pub message: String,
}

impl std::fmt::Display for RejectedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: rejected: {}", self.source, self.line, self.message)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub accepted: usize,
    pub rejected: usize,
    /// The first rejections, for callers that want them (every one is also reported as it happens).
    pub first_rejections: Vec<RejectedRecord>,
}

const KEPT_REJECTIONS: usize = 100;
const IMPORT_BATCH_RECORDS: usize = 512;
const IMPORT_BATCH_BYTES: usize = 16 * 1024 * 1024;

impl ImportReport {
    /// Counts stored records; reports each rejection on stderr (above the progress bar, if any).
    fn add(&mut self, source: &str, outcomes: Vec<Outcome>, progress: Option<&ProgressBar>) {
        for outcome in outcomes {
            let Err(rejection) = outcome.result else {
                self.accepted += 1;
                continue;
            };
            let rejected =
                RejectedRecord { source: source.to_string(), line: outcome.line, message: rejection.to_string() };
            match progress {
                Some(bar) => bar.suspend(|| eprintln!("{rejected}")),
                None => eprintln!("{rejected}"),
            }
            self.rejected += 1;
            if self.first_rejections.len() < KEPT_REJECTIONS {
                self.first_rejections.push(rejected);
            }
        }
    }

    pub fn merge(&mut self, other: ImportReport) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        let room = KEPT_REJECTIONS.saturating_sub(self.first_rejections.len());
        self.first_rejections.extend(other.first_rejections.into_iter().take(room));
    }
}

/// Reads records from `reader` and stores them one by one. Rejections are logged to stderr as they
/// happen (above the progress bar, if any); the import stops only if the store becomes unavailable.
pub async fn import_stream(
    service: &HistoryService,
    source: &str,
    mut reader: impl Read,
    tenant: Option<String>,
    shift_ms: i64,
    progress: Option<&ProgressBar>,
) -> Result<ImportReport, StoreError> {
    // Larger batches than the ingest API's: at 100 000 interactions and more, a batch's random
    // index inserts share more B-tree pages the more records it holds (memory: this process's).
    let mut session = ImportSession::new(service)
        .for_tenant(tenant)
        .shifted_by(shift_ms)
        .in_batches_of(IMPORT_BATCH_RECORDS, IMPORT_BATCH_BYTES);
    let mut splitter = RecordSplitter::new(DEFAULT_MAX_RECORD_BYTES);
    let mut report = ImportReport::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // What was read whole is stored before giving up.
                report.add(source, session.flush().await?, progress);
                return Err(StoreError::Failed(format!("cannot read {source}: {e}")));
            }
        };
        if n == 0 {
            splitter.finish(&mut frames);
        } else {
            splitter.push(&buf[..n], &mut frames);
            if let Some(bar) = progress {
                bar.inc(n as u64);
            }
        }
        for frame in frames.drain(..) {
            report.add(source, session.add(frame).await?, progress);
        }
        if n == 0 {
            report.add(source, session.flush().await?, progress);
            return Ok(report);
        }
    }
}

/// Imports each of `paths` (`-` is stdin) with a progress bar on stderr.
pub async fn import_files(
    service: &HistoryService,
    paths: &[String],
    tenant: Option<String>,
) -> anyhow::Result<ImportReport> {
    let mut total = ImportReport::default();
    for path in paths {
        let (reader, len, name): (Box<dyn Read>, Option<u64>, String) = if path == "-" {
            (Box::new(std::io::stdin().lock()), None, "stdin".to_string())
        } else {
            let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(std::io::BufReader::new(file)), len, path.clone())
        };
        let bar = match len {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_message(name.clone());
        let report = import_stream(service, &name, reader, tenant.clone(), 0, Some(&bar))
            .await
            .map_err(|e| anyhow::anyhow!("import of {name} stopped: {e}"))?;
        bar.finish_and_clear();
        println!("{name}: {} accepted, {} rejected", report.accepted, report.rejected);
        total.merge(report);
    }
    Ok(total)
}
