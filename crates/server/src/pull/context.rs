//! `ixgw pull context-services`: pages through each customer's (or service's) interactions, then
//! fetches each interaction resource and the content parts it names (`plain_text`,
//! `structured_text`, `binary_content`), and stores them so that the Context Services face answers
//! them again as the source did.

use super::inputs::{read_list, CUSTOMER_COLUMNS, INTERACTION_COLUMNS, SERVICE_COLUMNS};
use super::merge::{ContextPart, Part};
use super::{json_text, not_yet_stored, run_jobs, segment, Job, Ledger, PullOptions, PullReport, Target};
use anyhow::anyhow;
use futures_util::stream::{self, StreamExt};
use ixgw_core::model::record::{parse_strict, Base64Bytes, Content, Context};
use ixgw_core::model::time::IsoDate;
use ixgw_upstream::{Answer, Failure, SourceClient};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// What `ixgw pull context-services` was asked.
#[derive(Debug, Clone)]
pub struct ContextServicesPull {
    /// Its base URL includes the base path (`http://ucshost:8080`,
    /// `https://gms.example.com/genesys/1/cs`); `Environment-Name` is a gateway's (Genesys has none).
    pub source: super::Source,
    /// `ContactCenterId` at the source.
    pub contact_center: String,
    pub customers: Option<PathBuf>,
    pub services: Option<PathBuf>,
    /// Interaction ids fetched by id (those no customer or service lists).
    pub interactions: Option<PathBuf>,
    /// `limit` of each list request, following `Link: rel="next"`; 0: one request per list.
    pub page_size: u32,
}

/// Whose interactions a list holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Customer(String),
    Service(i64),
}

impl Subject {
    fn kind(&self) -> &'static str {
        match self {
            Self::Customer(_) => "customer",
            Self::Service(_) => "service",
        }
    }

    fn id(&self) -> String {
        match self {
            Self::Customer(c) => c.clone(),
            Self::Service(s) => s.to_string(),
        }
    }

    /// Its checkpoint key: every interaction of its list is stored.
    fn key(&self) -> String {
        format!("{}:{}", self.kind(), self.id())
    }

    fn list_path(&self) -> String {
        match self {
            Self::Customer(c) => format!("/customers/{}/interactions", segment(c)),
            Self::Service(s) => format!("/services/{s}/interactions"),
        }
    }
}

/// An interaction is stored, with each service link it was listed under.
fn interaction_key(id: &str) -> String {
    format!("interaction:{id}")
}

fn link_key(service: i64, id: &str) -> String {
    format!("link:{service}:{id}")
}

pub async fn pull_context_services(
    args: &ContextServicesPull,
    options: &PullOptions,
    target: &Target<'_>,
) -> anyhow::Result<PullReport> {
    let started = Instant::now();
    let mut subjects = Vec::new();
    if let Some(path) = &args.customers {
        subjects.extend(read_list(path, &CUSTOMER_COLUMNS)?.into_iter().map(|e| Subject::Customer(e.id)));
    }
    if let Some(path) = &args.services {
        for entry in read_list(path, &SERVICE_COLUMNS)? {
            let id = entry
                .id
                .parse()
                .map_err(|_| anyhow!("{}: `{}` is not a service id (a 64-bit integer)", path.display(), entry.id))?;
            subjects.push(Subject::Service(id));
        }
    }
    let by_id = match &args.interactions {
        Some(path) => read_list(path, &INTERACTION_COLUMNS)?.into_iter().map(|e| e.id).collect(),
        None => Vec::new(),
    };
    let input = [&args.customers, &args.services, &args.interactions]
        .into_iter()
        .find_map(Option::as_ref)
        .ok_or_else(|| anyhow!("give --customers FILE, --services FILE or --interactions FILE"))?;
    let header = format!(
        "context-services contact-center={} tenant={} environment={} target={}",
        args.contact_center, target.tenant, target.environment, target.label
    );
    let mut ledger = Ledger::open(&header, input, options)?;
    let source = Resources {
        client: args.source.client(("contactcenterid", args.contact_center.clone()), options)?,
        page_size: args.page_size,
    };

    // The lists first: the interactions to fetch, each with the services it was listed under.
    let (listed, skipped_subjects): (Vec<Subject>, Vec<Subject>) =
        subjects.into_iter().partition(|s| !ledger.checkpoint.contains(&s.key()));
    ledger.report.skipped += skipped_subjects.len();
    ledger.start_bar(listed.len(), "lists", options);
    let mut lists: Vec<(Subject, Vec<String>)> = Vec::new();
    let mut unanswered: std::collections::HashSet<Subject> = listed.iter().cloned().collect();
    let source_ref = &source;
    let mut results = stream::iter(listed)
        .map(|subject| async move {
            let listed = source_ref.list(&subject).await;
            (subject, listed)
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((subject, result)) = results.next().await {
        ledger.bar.inc(1);
        unanswered.remove(&subject);
        match result {
            Ok(ids) => lists.push((subject, ids)),
            Err(Failure::Fatal(reason)) => {
                ledger.report.failures.add(subject.kind(), &subject.id(), &reason);
                ledger.report.stopped = Some(reason);
                break;
            }
            Err(failure) => ledger.report.failures.add(subject.kind(), &subject.id(), failure.reason()),
        }
    }
    drop(results);
    if let Some(why) = ledger.report.stopped.clone() {
        for subject in unanswered {
            ledger.report.failures.add(subject.kind(), &subject.id(), &format!("not tried: the pull stopped ({why})"));
        }
        return ledger.finish(started, &source.client.counters);
    }
    let mut services_of: BTreeMap<String, Vec<i64>> = by_id.into_iter().map(|id| (id, Vec::new())).collect();
    for (subject, ids) in &lists {
        for id in ids {
            let services = services_of.entry(id.clone()).or_default();
            if let Subject::Service(s) = subject {
                services.push(*s);
            }
        }
    }
    let jobs: Vec<Job<Vec<i64>>> = services_of
        .into_iter()
        .map(|(id, services)| {
            let mut keys = vec![interaction_key(&id)];
            keys.extend(services.iter().map(|s| link_key(*s, &id)));
            Job { id, keys, work: services }
        })
        .collect();
    let jobs = not_yet_stored(&mut ledger, jobs);
    ledger.start_bar(jobs.len(), "interactions", options);
    run_jobs(target, &mut ledger, options.concurrency, jobs, |id, services| source.fetch(id, services)).await?;

    // A list is done once every interaction in it is stored (with its link).
    let mut done = Vec::new();
    for (subject, ids) in &lists {
        let stored = |id: &String| {
            ledger.checkpoint.contains(&interaction_key(id))
                && match subject {
                    Subject::Service(s) => ledger.checkpoint.contains(&link_key(*s, id)),
                    Subject::Customer(_) => true,
                }
        };
        if ids.iter().all(stored) {
            done.push(subject.key());
        }
    }
    ledger.checkpoint.record(&done)?;
    ledger.finish(started, &source.client.counters)
}

/// The Context Services source of one pull.
struct Resources {
    client: SourceClient,
    page_size: u32,
}

/// The Context Services part of one interaction from `client` (credentials in it): its resource
/// and content parts, as the pull fetches each.
pub(super) async fn fetch_one(client: SourceClient, id: &str) -> Result<Part, Failure> {
    Resources { client, page_size: 0 }.fetch(id.to_string(), Vec::new()).await
}

/// A list entry: only its id is needed (the resource is fetched by id).
#[derive(Deserialize)]
struct Listed {
    interaction_id: String,
}

/// The members of a resource that are not [`Context`] members.
struct Resource {
    interaction_id: String,
    customer_id: Option<String>,
    start_date: IsoDate,
    end_date: Option<IsoDate>,
    has_text: bool,
    has_structured_text: bool,
    has_binary_content: bool,
    structured_text_mime: Option<String>,
    context: Option<Context>,
}

impl Resources {
    /// Every interaction id of a subject's list, page after page.
    async fn list(&self, subject: &Subject) -> Result<Vec<String>, Failure> {
        let path = subject.list_path();
        let mut query = if self.page_size > 0 { format!("limit={}", self.page_size) } else { String::new() };
        let mut ids = Vec::new();
        let mut seen_queries = std::collections::HashSet::new();
        loop {
            let url = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let (page, next) = self
                .client
                .fetch(&url, |answer| match answer.status {
                    200 => Ok((json_body_loose::<Vec<Listed>>(&answer)?, next_query(&answer))),
                    _ => Err(answer.unexpected()),
                })
                .await?;
            ids.extend(page.into_iter().map(|l| l.interaction_id));
            match next {
                Some(next) if seen_queries.insert(next.clone()) => query = next,
                Some(_) => return Err(Failure::permanent("the source's next-page link repeats itself")),
                None => return Ok(ids),
            }
        }
    }

    async fn fetch(&self, id: String, service_ids: Vec<i64>) -> Result<Part, Failure> {
        let path = format!("/interactions/{}", segment(&id));
        let resource = self
            .client
            .fetch_found(&path, |answer| resource(&answer))
            .await?
            .ok_or_else(|| Failure::permanent("the source answers 404: it does not find it"))?;
        if resource.interaction_id != id {
            return Err(Failure::permanent(format!(
                "the source answered with interaction `{}` instead",
                resource.interaction_id
            )));
        }
        let mut content = Content::default();
        if resource.has_text {
            content.plain_text = Some(text(self.part(&path, "plain_text").await?.body)?);
        }
        if resource.has_structured_text {
            content.structured_text = Some(text(self.part(&path, "structured_text").await?.body)?);
            content.structured_text_mime = resource.structured_text_mime;
        }
        if resource.has_binary_content {
            let answer = self.part(&path, "binary_content").await?;
            // What the face answers for a part stored without a type: keep it without one.
            content.binary_content_mime = answer.content_type.filter(|t| t != "application/octet-stream");
            content.binary_content = Some(Base64Bytes(answer.body));
        }
        Ok(Part::Context(Box::new(ContextPart {
            customer_id: resource.customer_id,
            started_at: resource.start_date,
            ended_at: resource.end_date,
            context: resource.context,
            content: (content != Content::default()).then_some(content),
            service_ids,
        })))
    }

    /// A content part the resource names.
    async fn part(&self, interaction: &str, part: &str) -> Result<Answer, Failure> {
        self.client
            .fetch_found(&format!("{interaction}/{part}"), Ok)
            .await?
            .ok_or_else(|| Failure::permanent(format!("the resource names its {part}, but the source answers 404")))
    }
}

fn text(body: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(body).map_err(|_| Failure::permanent("a text part is not UTF-8"))
}

/// The query of the `Link: <…>; rel="next"` header, if any (applied to the source's own base URL,
/// whatever host the link names).
fn next_query(answer: &Answer) -> Option<String> {
    let link = answer.link.as_deref()?;
    link.split(',').find_map(|entry| {
        let (target, params) = entry.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == "next");
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.split_once('?').map(|(_, q)| q.to_string())).flatten()
    })
}

/// A JSON body whose members beyond the ones asked for do not matter (a list's entries).
fn json_body_loose<T: DeserializeOwned>(answer: &Answer) -> Result<T, Failure> {
    serde_json::from_str(json_text(answer)?)
        .map_err(|e| Failure::permanent(format!("the answer is not a list of interactions: {e}")))
}

/// The resource: its ids, dates and content links taken out, the rest read as the record's
/// `context` (so a member the gateway cannot store is refused, by name).
fn resource(answer: &Answer) -> Result<Resource, Failure> {
    let mut members: HashMap<String, Box<RawValue>> = serde_json::from_str(json_text(answer)?)
        .map_err(|e| Failure::permanent(format!("the resource is not a JSON object ({e})")))?;
    fn take<T: DeserializeOwned>(
        members: &mut HashMap<String, Box<RawValue>>,
        name: &str,
    ) -> Result<Option<T>, Failure> {
        members
            .remove(name)
            .map(|raw| {
                serde_json::from_str(raw.get()).map_err(|e| {
                    Failure::permanent(format!("the resource's {name} does not fit the gateway's model: {e}"))
                })
            })
            .transpose()
    }
    let interaction_id = take(&mut members, "interaction_id")?
        .ok_or_else(|| Failure::permanent("the resource has no interaction_id"))?;
    let start_date =
        take(&mut members, "start_date")?.ok_or_else(|| Failure::permanent("the resource has no start_date"))?;
    let url = |members: &mut HashMap<String, Box<RawValue>>, name| take::<String>(members, name).map(|u| u.is_some());
    let resource = Resource {
        interaction_id,
        customer_id: take(&mut members, "customer_id")?,
        start_date,
        end_date: take(&mut members, "end_date")?,
        has_text: url(&mut members, "text")?,
        has_structured_text: url(&mut members, "structured_text")?,
        has_binary_content: url(&mut members, "binary_content")?,
        structured_text_mime: take(&mut members, "structured_text_mime")?,
        context: None,
    };
    if members.is_empty() {
        return Ok(resource);
    }
    let rest: Vec<String> = members
        .iter()
        .map(|(name, raw)| format!("{}:{}", serde_json::to_string(name).expect("a string serializes"), raw.get()))
        .collect();
    let context = parse_strict::<Context>(&format!("{{{}}}", rest.join(",")))
        .map_err(|e| Failure::permanent(format!("the resource holds what the gateway cannot store: {e}")))?;
    Ok(Resource { context: Some(context), ..resource })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str, link: Option<&str>) -> Answer {
        Answer { status: 200, content_type: None, link: link.map(str::to_string), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn the_seed_resource_splits_into_record_parts() {
        let seed = r#"{"external_id":"00AF4A7951D60009","established_date":"2009-08-05T09:33:15.000Z","text":"http://h/interactions/00001a57JGQ00BW8/plain_text","media_type":"chat","udata":{"z":"1","a":""},"structured_text":"http://h/interactions/00001a57JGQ00BW8/structured_text","status":3,"interaction_id":"00001a57JGQ00BW8","start_date":"2009-08-05T09:33:10.000Z","structured_text_mime":"text/xml","customer_id":"00001a57JGQ00BVU"}"#;
        let r = resource(&answer(seed, None)).unwrap();
        assert_eq!(r.interaction_id, "00001a57JGQ00BW8");
        assert_eq!(r.customer_id.as_deref(), Some("00001a57JGQ00BVU"));
        assert_eq!(r.start_date.0.to_iso_millis(), "2009-08-05T09:33:10.000Z");
        assert_eq!((r.has_text, r.has_structured_text, r.has_binary_content), (true, true, false));
        assert_eq!(r.structured_text_mime.as_deref(), Some("text/xml"));
        let context = r.context.unwrap();
        assert_eq!((context.media_type.as_deref(), context.status), (Some("chat"), Some(3)));
        let udata: Vec<(&str, &str)> = context.udata.as_ref().unwrap().iter().collect();
        assert_eq!(udata, [("z", "1"), ("a", "")], "udata keeps the source's order");
        assert_eq!(context.established_date.unwrap().0.to_iso_millis(), "2009-08-05T09:33:15.000Z");
    }

    #[test]
    fn resources_the_gateway_cannot_store_are_refused_by_name() {
        let unknown = r#"{"interaction_id":"x","start_date":"2009-08-05T09:33:10.000Z","priority":5}"#;
        let e = resource(&answer(unknown, None)).err().unwrap();
        assert!(matches!(&e, Failure::Permanent(r) if r.contains("priority")), "{e:?}");
        let no_start = r#"{"interaction_id":"x"}"#;
        assert!(resource(&answer(no_start, None)).err().unwrap().reason().contains("start_date"));
        let cut = r#"{"interaction_id":"x","start_da"#;
        assert!(matches!(resource(&answer(cut, None)), Err(Failure::Transient { .. })), "worth another try");
    }

    #[test]
    fn next_page_links() {
        let link = |l| next_query(&answer("[]", Some(l)));
        assert_eq!(
            link(r#"<http://gw.example/cs/customers/c1/interactions?limit=2&cursor=abc>; rel="next""#).as_deref(),
            Some("limit=2&cursor=abc")
        );
        assert_eq!(link(r#"<http://x/a?p=1>; rel="prev", <http://x/a?p=3>; rel=next"#).as_deref(), Some("p=3"));
        assert_eq!(link(r#"<http://x/a?p=1>; rel="prev""#), None);
        assert_eq!(next_query(&answer("[]", None)), None);
    }
}
