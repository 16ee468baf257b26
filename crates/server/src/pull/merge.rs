//! What each pull brings of an interaction, and how it joins what the target already holds.
//!
//! One interaction id is both the Interact unique id and the Context Services interaction id, and a
//! tenant may have been served by both: each pull owns its part of the record and keeps the rest
//! as stored, so that pulling the Interact flow and the Context Services resource of one
//! interaction, in either order, stores the whole of it.

use ixgw_core::model::page::Page;
use ixgw_core::model::record::{CallerAttribute, Content, Context, InteractionRecord, Photo, VariableSets};
use ixgw_core::model::time::IsoDate;
use ixgw_core::{Millis, Partition};

/// What the Interact pull brings.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractPart {
    pub pages: Vec<Page>,
    /// The photos the pages name that the source has.
    pub photos: Vec<Photo>,
    /// The variable sets asked for that the source has; `None` when none were asked for (then
    /// the stored ones stay).
    pub variable_sets: Option<VariableSets>,
    /// The allocations of the attributes file; `None` without one (then the stored ones stay).
    pub caller_attributes: Option<Vec<CallerAttribute>>,
    /// Start and end from the ids file; `None`: the stored ones, else derived (see [`derived_start`]).
    pub dates: Option<(IsoDate, Option<IsoDate>)>,
}

/// What the Context Services pull brings: everything the resource and its content parts hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextPart {
    pub customer_id: Option<String>,
    pub started_at: IsoDate,
    pub ended_at: Option<IsoDate>,
    pub context: Option<Context>,
    pub content: Option<Content>,
    /// The services the interaction was listed under; added to the stored links.
    pub service_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Interact(InteractPart),
    /// Boxed: a resource's fields are many times the size of the Interact part's handles.
    Context(Box<ContextPart>),
}

/// Where the start of a merged record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The source's answers or the ids file.
    Given,
    /// The stored record's.
    Kept,
    /// The first page or allocation ([`derived_start`]).
    Derived,
    /// Nothing gave one: the time of the pull.
    Now,
}

/// The record to store: `stored` (if any) with `part` in place of what it owns, and where its
/// start came from. `now` stands in for a start nothing else gives.
pub fn merge(
    at: Partition<'_>,
    id: &str,
    stored: Option<InteractionRecord>,
    part: Part,
    now: Millis,
) -> (InteractionRecord, Start) {
    let was_stored = stored.is_some();
    let mut record = stored.unwrap_or_else(|| InteractionRecord {
        tenant: None,
        environment: None,
        id: id.to_string(),
        customer_id: None,
        service_ids: Vec::new(),
        started_at: IsoDate(now),
        ended_at: None,
        caller_attributes: Vec::new(),
        context: None,
        content: None,
        variable_sets: VariableSets::new(),
        pages: Vec::new(),
        photos: Vec::new(),
    });
    record.tenant = Some(at.tenant.to_string());
    record.environment = Some(at.environment.to_string());
    let start = match part {
        Part::Interact(part) => {
            record.pages = part.pages;
            record.photos = part.photos;
            if let Some(sets) = part.variable_sets {
                record.variable_sets = sets;
            }
            if let Some(attributes) = part.caller_attributes {
                record.caller_attributes = attributes;
            }
            match (part.dates, derived_start(&record)) {
                (Some((started_at, ended_at)), _) => {
                    (record.started_at, record.ended_at) = (started_at, ended_at);
                    Start::Given
                }
                _ if was_stored => Start::Kept,
                (None, Some(derived)) => {
                    record.started_at = derived;
                    Start::Derived
                }
                (None, None) => Start::Now,
            }
        }
        Part::Context(part) => {
            let part = *part;
            record.customer_id = part.customer_id;
            record.started_at = part.started_at;
            record.ended_at = part.ended_at;
            record.context = part.context;
            record.content = part.content;
            for service in part.service_ids {
                if !record.service_ids.contains(&service) {
                    record.service_ids.push(service);
                }
            }
            Start::Given
        }
    };
    (record, start)
}

/// The start of an interaction whose source gives none: its first page or first allocation,
/// whichever is older. It stays "running" (no end), so its last activity — what the Interact
/// windows measure — is its newest page, as the source's was if it ended with its last page.
pub fn derived_start(record: &InteractionRecord) -> Option<IsoDate> {
    let first_page = record.pages.first().map(|p| Millis(p.timestamp));
    let first_allocation = record.caller_attributes.iter().map(|a| a.allocated_at.0).min();
    first_page.into_iter().chain(first_allocation).min().map(IsoDate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ixgw_core::model::record::CallerAttributeKind;

    const AT: Partition<'static> = Partition { tenant: "t", environment: "production" };

    fn page(timestamp: i64) -> Page {
        serde_json::from_str(&format!(
            r#"{{"pageNavigation":{{"navigationTitle":"p"}},"pageContent":{{"contentSections":[]}},"timestamp":{timestamp}}}"#
        ))
        .unwrap()
    }

    fn interact(pages: Vec<Page>, dates: Option<(IsoDate, Option<IsoDate>)>) -> Part {
        Part::Interact(InteractPart { pages, photos: Vec::new(), variable_sets: None, caller_attributes: None, dates })
    }

    fn context(started: i64, services: Vec<i64>) -> Part {
        Part::Context(Box::new(ContextPart {
            customer_id: Some("c1".into()),
            started_at: IsoDate(Millis(started)),
            ended_at: Some(IsoDate(Millis(started + 10))),
            context: Some(Context { media_type: Some("chat".into()), ..Default::default() }),
            content: Some(Content { plain_text: Some("hi".into()), ..Default::default() }),
            service_ids: services,
        }))
    }

    #[test]
    fn either_order_stores_the_whole_interaction() {
        let now = Millis(9_999);
        let (flow_first, start) = merge(AT, "x", None, interact(vec![page(100), page(200)], None), now);
        assert_eq!(start, Start::Derived);
        let (flow_first, _) = merge(AT, "x", Some(flow_first), context(50, vec![4711]), now);
        let (context_first, _) = merge(AT, "x", None, context(50, vec![4711]), now);
        let (context_first, start) =
            merge(AT, "x", Some(context_first), interact(vec![page(100), page(200)], None), now);
        assert_eq!(start, Start::Kept);
        assert_eq!(flow_first, context_first);
        assert_eq!(flow_first.pages.len(), 2);
        assert_eq!((flow_first.started_at.0, flow_first.ended_at.map(|e| e.0)), (Millis(50), Some(Millis(60))));
        assert_eq!(flow_first.customer_id.as_deref(), Some("c1"));
        assert_eq!((flow_first.tenant.as_deref(), flow_first.environment.as_deref()), (Some("t"), Some("production")));
    }

    #[test]
    fn service_links_accumulate_and_owned_parts_are_replaced() {
        let now = Millis(0);
        let (once, _) = merge(AT, "x", None, context(50, vec![4711]), now);
        let (twice, _) = merge(AT, "x", Some(once), context(50, vec![4712, 4711]), now);
        assert_eq!(twice.service_ids, vec![4711, 4712]);
        let mut with_sets = twice.clone();
        with_sets.variable_sets.insert("s".into(), [("a".to_string(), "1".to_string())].into_iter().collect());
        let (kept, _) = merge(AT, "x", Some(with_sets.clone()), interact(vec![], None), now);
        assert_eq!(kept.variable_sets, with_sets.variable_sets, "not asked for: kept");
        assert_eq!((kept.started_at, kept.ended_at), (with_sets.started_at, with_sets.ended_at), "stored dates kept");
        let (replaced, start) = merge(
            AT,
            "x",
            Some(with_sets),
            Part::Interact(InteractPart {
                pages: vec![],
                photos: vec![],
                variable_sets: Some(VariableSets::new()),
                caller_attributes: Some(vec![]),
                dates: Some((IsoDate(Millis(1)), None)),
            }),
            now,
        );
        assert_eq!(start, Start::Given);
        assert!(replaced.variable_sets.is_empty());
        assert_eq!((replaced.started_at.0, replaced.ended_at), (Millis(1), None), "the ids file's dates win");
    }

    #[test]
    fn a_start_nothing_gives_is_derived() {
        let now = Millis(1_000_000);
        let (from_pages, _) = merge(AT, "x", None, interact(vec![page(300), page(400)], None), now);
        assert_eq!((from_pages.started_at.0, from_pages.ended_at), (Millis(300), None));
        assert_eq!(from_pages.last_activity(), Millis(400), "the newest page, as on the source");
        let attributes = vec![CallerAttribute {
            kind: CallerAttributeKind::Dtmf,
            value: "1".into(),
            allocated_at: IsoDate(Millis(250)),
        }];
        let part = Part::Interact(InteractPart {
            pages: vec![page(300)],
            photos: vec![],
            variable_sets: None,
            caller_attributes: Some(attributes),
            dates: None,
        });
        assert_eq!(merge(AT, "x", None, part, now).0.started_at.0, Millis(250));
        let (nothing, start) = merge(AT, "x", None, interact(vec![], None), now);
        assert_eq!((nothing.started_at.0, start), (now, Start::Now), "nothing at all: now");
    }
}
