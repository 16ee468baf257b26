//! One interaction copied on demand, through the pull's own fetches and merge and the import
//! session: what the cutover's fallback mode does for a request the store could not answer
//! (`crate::cutover`). The vendor is asked with the client's own credentials.

use super::merge::{merge, Part};
use super::{context, interact, segment, Target};
use ixgw_core::ingest::{Frame, ImportSession};
use ixgw_core::model::record::{CallerAttribute, CallerAttributeKind};
use ixgw_core::model::time::IsoDate;
use ixgw_core::Millis;
use ixgw_upstream::{ClientSettings, Failure, RetryPolicy, SourceClient};
use ixgw_web::Lookup;
use serde::Deserialize;
use std::time::Duration;

/// Where and how to ask the vendor.
pub struct FillSource<'a> {
    pub http: &'a reqwest::Client,
    /// The vendor's Interact base URL, if configured.
    pub interact: Option<&'a str>,
    /// The vendor's Context Services base URL, if configured.
    pub context_services: Option<&'a str>,
    /// The client's credential headers (names in lower case), sent on as they came.
    pub credentials: &'a [(&'static str, String)],
}

/// What one fill did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filled {
    /// The interaction is stored.
    Copied(String),
    /// The vendor does not have it either.
    NotFound,
}

/// Copies the interaction `lookup` names into `target`: the Interact flow (with its photos) and the
/// Context Services resource (with its content parts and true dates) of the same id, from whichever
/// of the two the vendor serves. A caller attribute is first resolved to its interaction through
/// the vendor's `uniqueId` routes, and stored with the interaction.
pub async fn fill(target: &Target<'_>, source: &FillSource<'_>, lookup: &Lookup) -> Result<Filled, String> {
    let (id, attribute) = match lookup {
        Lookup::UniqueId(id) | Lookup::ContextInteraction(id) => (id.clone(), None),
        Lookup::CallerAttribute(value) => match resolve(target, source, value).await? {
            Some((id, kind)) => (id, Some((kind, value.clone()))),
            None => return Ok(Filled::NotFound),
        },
    };
    let mut parts = Vec::new();
    if let Some(base) = source.interact {
        let client = source.client(base, ("tenant-id", &target.tenant))?;
        match interact::fetch_one(client, &target.tenant, &id, None).await {
            Ok(part) => parts.push(part),
            Err(Failure::Permanent(_)) => {}
            Err(e) => return Err(e.reason().to_string()),
        }
    }
    if let Some(base) = source.context_services {
        let client = source.client(base, ("contactcenterid", &target.tenant))?;
        match context::fetch_one(client, &id).await {
            Ok(part) => parts.push(part),
            Err(Failure::Permanent(_)) => {}
            Err(e) => return Err(e.reason().to_string()),
        }
    }
    if parts.is_empty() {
        return Ok(Filled::NotFound);
    }
    for part in parts {
        store(target, &id, part, attribute.as_ref()).await?;
    }
    Ok(Filled::Copied(id))
}

impl FillSource<'_> {
    /// A client of `base` with the tenant header and the client's credentials; one retry, for a
    /// connection the vendor closed under it.
    fn client(&self, base: &str, tenant: (&'static str, &str)) -> Result<SourceClient, String> {
        let mut headers: Vec<(&'static str, String)> = vec![(tenant.0, tenant.1.to_string())];
        headers.extend(self.credentials.iter().filter(|(name, _)| *name != tenant.0).cloned());
        SourceClient::with_http(
            self.http.clone(),
            ClientSettings {
                base_url: base.to_string(),
                headers,
                timeout: Duration::ZERO,
                policy: RetryPolicy { retries: 1, first_backoff: Duration::from_millis(50), ..RetryPolicy::default() },
                requests_per_second: None,
            },
        )
    }
}

#[derive(Deserialize)]
struct UniqueIdAnswer {
    #[serde(rename = "uniqueId")]
    unique_id: String,
}

/// The interaction a caller attribute was allocated to, by the vendor's `uniqueId` routes (one per
/// kind they can name; `dnid` has none), and the kind that found it.
async fn resolve(
    target: &Target<'_>,
    source: &FillSource<'_>,
    value: &str,
) -> Result<Option<(String, CallerAttributeKind)>, String> {
    let Some(base) = source.interact else { return Ok(None) };
    let client = source.client(base, ("tenant-id", &target.tenant))?;
    let kinds = [
        ("historySearchId", CallerAttributeKind::HistorySearchId),
        ("dtmf", CallerAttributeKind::Dtmf),
        ("callReturn", CallerAttributeKind::CallReturnNumber),
        ("clickToCall", CallerAttributeKind::CallerId),
    ];
    for (route, kind) in kinds {
        let path = format!(
            "/interact/agent/version/2/account/{}/uniqueId/{route}/{}?widerSearch=true",
            segment(&target.tenant),
            segment(value)
        );
        let found = client
            .fetch_found(&path, |answer| super::json_body::<UniqueIdAnswer>(&answer).map(|a| a.unique_id))
            .await
            .map_err(|e| e.reason().to_string())?;
        if let Some(id) = found {
            return Ok(Some((id, kind)));
        }
    }
    Ok(None)
}

/// Merges `part` into what `target` holds of `id` and stores it through the import session; an
/// attribute that found it joins its allocations (at its newest page: the vendor does not say when
/// it was allocated).
async fn store(
    target: &Target<'_>,
    id: &str,
    part: Part,
    attribute: Option<&(CallerAttributeKind, String)>,
) -> Result<(), String> {
    let at = target.partition();
    let stored = target.database.record(at, id).await.map_err(|e| format!("the store failed: {e}"))?;
    let (mut record, _) = merge(at, id, stored, part, Millis::now());
    if let Some((kind, value)) = attribute {
        let known = record.caller_attributes.iter().any(|a| a.kind == *kind && a.value == *value);
        if !known {
            let newest = record.pages.last().map_or(record.started_at.0, |p| Millis(p.timestamp));
            record.caller_attributes.push(CallerAttribute {
                kind: *kind,
                value: value.clone(),
                allocated_at: IsoDate(newest.max(record.started_at.0)),
            });
        }
    }
    let text = serde_json::to_string(&record).map_err(|e| e.to_string())?;
    let mut session = ImportSession::new(target.service);
    let frame = Frame { index: 0, line: 1, column: 1, text: Ok(text) };
    let mut outcomes = session.add(frame).await.map_err(|e| format!("the store failed: {e}"))?;
    outcomes.extend(session.flush().await.map_err(|e| format!("the store failed: {e}"))?);
    match outcomes.into_iter().next().map(|o| o.result) {
        Some(Ok(_)) => Ok(()),
        Some(Err(refused)) => Err(format!("the store refused the copy: {refused}")),
        None => Err("the import session settled nothing".into()),
    }
}
