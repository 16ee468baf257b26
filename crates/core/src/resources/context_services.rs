//! The Genesys Context Services interaction resource, in the seed's member order.

use crate::error::HistoryError;
use crate::model::ordered::OrderedStrings;
use crate::model::record::{Context, EmailAddress};
use crate::model::time::Millis;
use crate::store::ContextRow;
use serde::Serialize;

/// Absolute URLs of the content sub-resources an interaction has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentUrls {
    pub text: Option<String>,
    pub structured_text: Option<String>,
    pub binary_content: Option<String>,
}

/// The resource as the vendor prints it: the seed example's member order, then the members the seed
/// does not show (media-specific fields, `parent_id`). Absent members are left out.
#[derive(Serialize)]
struct Resource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    established_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udata: Option<&'a OrderedStrings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeshift: Option<i32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    interaction_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_children: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    released_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creator_app_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
    start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_text_mime: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tconnection_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'a [EmailAddress]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<&'a [EmailAddress]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_date: Option<String>,
}

fn date(d: Option<crate::model::time::IsoDate>) -> Option<String> {
    d.map(|d| d.0.to_iso_millis())
}

/// Writes one interaction resource as JSON into `out`.
pub fn write_resource(out: &mut Vec<u8>, row: &ContextRow, urls: &ContentUrls) -> Result<(), HistoryError> {
    let context: Context = match &row.context_json {
        Some(json) => serde_json::from_str(json).map_err(|e| {
            HistoryError::Internal(crate::error::StoreError::Failed(format!("stored context does not parse: {e}")))
        })?,
        None => Context::default(),
    };
    let resource = Resource {
        external_id: context.external_id.as_deref(),
        established_date: date(context.established_date),
        text: urls.text.as_deref(),
        media_type: context.media_type.as_deref(),
        udata: context.udata.as_ref(),
        binary_content: urls.binary_content.as_deref(),
        structured_text: urls.structured_text.as_deref(),
        status: context.status,
        subject: context.subject.as_deref(),
        timeshift: context.timeshift,
        kind: context.kind.as_deref(),
        interaction_id: &row.interaction_id,
        allow_children: context.allow_children,
        end_date: row.ended_at.map(Millis::to_iso_millis),
        owner_id: context.owner_id,
        sub_type: context.sub_type.as_deref(),
        released_date: date(context.released_date),
        entity_type: context.entity_type,
        creator_app_id: context.creator_app_id,
        thread_id: context.thread_id.as_deref(),
        start_date: row.started_at.to_iso_millis(),
        structured_text_mime: if row.has_structured_text { row.structured_text_mime.as_deref() } else { None },
        customer_id: row.customer_id.as_deref(),
        parent_id: context.parent_id.as_deref(),
        duration: context.duration,
        outcome: context.outcome.as_deref(),
        phone_number: context.phone_number.as_deref(),
        tconnection_id: context.tconnection_id.as_deref(),
        from: context.from.as_ref(),
        reply_to: context.reply_to.as_ref(),
        to: context.to.as_deref(),
        cc: context.cc.as_deref(),
        sent_date: date(context.sent_date),
    };
    serde_json::to_writer(out, &resource)
        .map_err(|e| HistoryError::Internal(crate::error::StoreError::Failed(format!("resource does not render: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_order_and_absent_members_left_out() {
        let row = ContextRow {
            interaction_id: "00001a57JGQ00BW8".into(),
            customer_id: Some("00001a57JGQ00BVU".into()),
            started_at: Millis::parse_rfc3339("2009-08-05T09:33:10.000Z").unwrap(),
            ended_at: None,
            context_json: Some(
                r#"{"external_id":"00AF4A7951D60009","media_type":"chat","udata":{"b":"2","a":""},"status":3}"#.into(),
            ),
            has_plain_text: true,
            has_structured_text: false,
            structured_text_mime: Some("text/xml".into()),
            has_binary_content: false,
        };
        let urls = ContentUrls {
            text: Some("http://h/interactions/00001a57JGQ00BW8/plain_text".into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        write_resource(&mut out, &row, &urls).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"external_id":"00AF4A7951D60009","text":"http://h/interactions/00001a57JGQ00BW8/plain_text","media_type":"chat","udata":{"b":"2","a":""},"status":3,"interaction_id":"00001a57JGQ00BW8","start_date":"2009-08-05T09:33:10.000Z","customer_id":"00001a57JGQ00BVU"}"#
        );
    }
}
