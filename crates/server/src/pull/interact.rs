//! `ixgw pull interact`: per unique id, the full flow (12-month window), the summary, the photos
//! its pages name and the variable sets asked for, from a server that speaks the Interact REST API;
//! caller attributes and dates from the files the platform exported (the API cannot give them
//! back by id).

use super::inputs::{read_attributes, read_list, ListEntry, UNIQUE_ID_COLUMNS};
use super::merge::{InteractPart, Part};
use super::{json_body, not_yet_stored, run_jobs, segment, Job, Ledger, PullOptions, PullReport, Target};
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::page::Page;
use ixgw_core::model::record::{Base64Bytes, CallerAttribute, Photo, VariableSets};
use ixgw_core::resources::summary::summarize;
use ixgw_upstream::{Answer, Failure, SourceClient};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What `ixgw pull interact` was asked.
#[derive(Debug, Clone)]
pub struct InteractPull {
    /// `scheme://host[:port]`: the Interact routes are under it.
    pub source: super::Source,
    /// The account id: `Tenant-Id` and `{accountID}` at the source, the tenant in the target.
    pub tenant: String,
    /// The protocol version in the source's URLs (`2`, `v1`, …).
    pub api_version: String,
    pub ids: PathBuf,
    pub attributes: Option<PathBuf>,
    pub variable_sets: Vec<String>,
}

/// Counts of what the source did not have, for the summary's notes.
#[derive(Default)]
struct Misses {
    photos: AtomicUsize,
    summaries: AtomicUsize,
}

/// The Interact source of one pull.
struct Flows {
    client: SourceClient,
    /// `/interact/agent/version/{v}/account/{accountID}`.
    prefix: String,
    variable_sets: Vec<String>,
    misses: Misses,
}

/// What one job needs besides its id.
struct Work {
    entry: ListEntry,
    attributes: Option<Vec<CallerAttribute>>,
}

pub async fn pull_interact(
    args: &InteractPull,
    options: &PullOptions,
    target: &Target<'_>,
) -> anyhow::Result<PullReport> {
    let started = Instant::now();
    let entries = read_list(&args.ids, &UNIQUE_ID_COLUMNS)?;
    let mut attributes = match &args.attributes {
        Some(path) => Some(read_attributes(path)?),
        None => None,
    };
    let header = format!(
        "interact tenant={} environment={} target={} variable-sets={} attributes={}",
        target.tenant,
        target.environment,
        target.label,
        args.variable_sets.join(","),
        if attributes.is_some() { "from a file" } else { "none" }
    );
    let mut ledger = Ledger::open(&header, &args.ids, options)?;
    let jobs: Vec<Job<Work>> = entries
        .into_iter()
        .map(|entry| {
            // With an attributes file, an id it does not name has no attributes.
            let own = attributes.as_mut().map(|all| all.remove(&entry.id).unwrap_or_default());
            Job { id: entry.id.clone(), keys: vec![entry.id.clone()], work: Work { entry, attributes: own } }
        })
        .collect();
    if let Some(unused) = attributes.as_ref().map(|rest| rest.values().map(Vec::len).sum::<usize>()).filter(|n| *n > 0)
    {
        ledger.report.notes.push(format!("{unused} rows of the attributes file name ids that are not in the ids file"));
    }
    let jobs = not_yet_stored(&mut ledger, jobs);
    let source = Flows {
        client: args.source.client(("tenant-id", args.tenant.clone()), options)?,
        prefix: format!("/interact/agent/version/{}/account/{}", segment(&args.api_version), segment(&args.tenant)),
        variable_sets: args.variable_sets.clone(),
        misses: Misses::default(),
    };
    ledger.start_bar(jobs.len(), "interactions", options);
    run_jobs(target, &mut ledger, options.concurrency, jobs, |id, work| source.fetch(id, work)).await?;
    let photos = source.misses.photos.load(Ordering::Relaxed);
    if photos > 0 {
        ledger.report.notes.push(format!(
            "{photos} photos named by pages were not found at the source (404): they answer 404 here too"
        ));
    }
    let summaries = source.misses.summaries.load(Ordering::Relaxed);
    if summaries > 0 {
        ledger.report.notes.push(format!(
            "{summaries} summaries of the source differ from the ones the gateway derives from the same pages: \
             the gateway answers its own (docs/MIGRATION.md)"
        ));
    }
    ledger.finish(started, &source.client.counters)
}

/// The Interact part of one interaction from `client` (credentials in it), the way the pull
/// fetches each id: full flow (12-month window), summary check, photos; no variable sets.
pub(super) async fn fetch_one(
    client: SourceClient,
    tenant: &str,
    id: &str,
    attributes: Option<Vec<CallerAttribute>>,
) -> Result<Part, Failure> {
    let flows = Flows {
        client,
        prefix: format!("/interact/agent/version/2/account/{}", segment(tenant)),
        variable_sets: Vec::new(),
        misses: Misses::default(),
    };
    let entry = ListEntry { id: id.to_string(), started_at: None, ended_at: None };
    flows.fetch(id.to_string(), Work { entry, attributes }).await
}

/// `{"voice":{"data":{…}}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariableSetAnswer {
    voice: Voice,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Voice {
    data: OrderedStrings,
}

impl Flows {
    async fn fetch(&self, id: String, work: Work) -> Result<Part, Failure> {
        let base = format!("{}/interactiondata/{}", self.prefix, segment(&id));
        let pages = self
            .client
            .fetch_found(&format!("{base}/fullFlow?widerSearch=true"), |answer| flow(&answer))
            .await?
            .ok_or_else(|| Failure::permanent("the source answers 404: not found, even in the 12-month window"))?;
        let summary = self
            .client
            .fetch_found(&format!("{base}/summary?widerSearch=true"), |answer| json_body::<serde_json::Value>(&answer))
            .await?;
        let derived = serde_json::to_value(summarize(&pages)).expect("a summary serializes");
        if summary.is_some_and(|s| s != derived) {
            self.misses.summaries.fetch_add(1, Ordering::Relaxed);
        }
        let mut photos = Vec::new();
        let mut paths = HashSet::new();
        for path in pages.iter().flat_map(Page::image_paths).filter(|p| paths.insert(p.to_string())) {
            // The path goes into the URL encoded twice (the vendor's convention).
            let url = format!("{}/photo/{}/{}", self.prefix, segment(&id), segment(&segment(path)));
            let photo = self
                .client
                .fetch_found(&url, |answer| {
                    Ok(Photo {
                        path: path.to_string(),
                        mime: answer.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                        data: Base64Bytes(answer.body),
                    })
                })
                .await?;
            match photo {
                Some(photo) => photos.push(photo),
                None => _ = self.misses.photos.fetch_add(1, Ordering::Relaxed),
            }
        }
        let variable_sets = if self.variable_sets.is_empty() {
            None
        } else {
            let mut sets = VariableSets::new();
            for name in &self.variable_sets {
                let url = format!("{base}/variableSet/{}?widerSearch=true", segment(name));
                let set = self
                    .client
                    .fetch_found(&url, |answer| json_body::<VariableSetAnswer>(&answer).map(|a| a.voice.data))
                    .await?;
                if let Some(set) = set {
                    sets.insert(name.clone(), set);
                }
            }
            Some(sets)
        };
        let dates = work.entry.started_at.map(|started| (started, work.entry.ended_at));
        Ok(Part::Interact(InteractPart { pages, photos, variable_sets, caller_attributes: work.attributes, dates }))
    }
}

/// A full flow: a JSON array of pages, or the vendor's EMPTY (no body) for none.
fn flow(answer: &Answer) -> Result<Vec<Page>, Failure> {
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    json_body(answer)
}
