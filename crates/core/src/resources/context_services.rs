//! The Genesys Context Services interaction resource, in the seed's member order.

use crate::error::HistoryError;
use crate::model::time::{IsoDate, Millis};
use crate::store::ContextRow;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

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
    udata: Option<&'a Strings<'a>>,
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
    from: Option<&'a Address<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a Address<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'a [Address<'a>]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<&'a [Address<'a>]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_date: Option<String>,
}

/// A stored [`Context`](crate::model::record::Context) read for one resource: the same members
/// and rules (unknown members refused, duplicate `udata` keys refused), its text borrowed from the
/// stored JSON rather than copied into owned strings (a string with an escape in it is the one
/// copied). The stored text is the canonical JSON of a `Context`; the test below holds the two to
/// the same reading.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StoredContext<'a> {
    #[serde(default, borrow)]
    media_type: Option<Text<'a>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    sub_type: Option<Text<'a>>,
    #[serde(default)]
    status: Option<i32>,
    #[serde(default)]
    entity_type: Option<i32>,
    #[serde(default, borrow)]
    subject: Option<Text<'a>>,
    #[serde(default, borrow)]
    external_id: Option<Text<'a>>,
    #[serde(default, borrow)]
    thread_id: Option<Text<'a>>,
    #[serde(default, borrow)]
    parent_id: Option<Text<'a>>,
    #[serde(default)]
    owner_id: Option<i64>,
    #[serde(default)]
    creator_app_id: Option<i64>,
    #[serde(default)]
    timeshift: Option<i32>,
    #[serde(default)]
    allow_children: Option<bool>,
    #[serde(default)]
    established_date: Option<IsoDate>,
    #[serde(default)]
    released_date: Option<IsoDate>,
    #[serde(default, borrow)]
    udata: Option<Strings<'a>>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default, borrow)]
    outcome: Option<Text<'a>>,
    #[serde(default, borrow)]
    phone_number: Option<Text<'a>>,
    #[serde(default, borrow)]
    tconnection_id: Option<Text<'a>>,
    #[serde(default, borrow)]
    from: Option<Address<'a>>,
    #[serde(default, borrow)]
    reply_to: Option<Address<'a>>,
    #[serde(default, borrow)]
    to: Option<Vec<Address<'a>>>,
    #[serde(default, borrow)]
    cc: Option<Vec<Address<'a>>>,
    #[serde(default)]
    sent_date: Option<IsoDate>,
}

/// A string of the stored JSON: borrowed, unless it had an escape (then unescaped into its own).
/// (`Option<Cow<str>>` would always copy: serde borrows a `Cow` only as a field's whole type.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

fn text<'a>(t: &'a Option<Text<'_>>) -> Option<&'a str> {
    t.as_ref().map(|t| &*t.0)
}

/// `udata` as stored: its pairs in order, as [`OrderedStrings`](crate::model::ordered::OrderedStrings) reads them.
struct Strings<'a>(Vec<(Text<'a>, Text<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Strings<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'a> {
            type Value = Strings<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object whose values are strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut pairs: Vec<(Text<'a>, Text<'a>)> = Vec::with_capacity(access.size_hint().unwrap_or(0));
                while let Some((key, value)) = access.next_entry::<Text<'a>, Text<'a>>()? {
                    if pairs.iter().any(|(k, _)| k.0 == key.0) {
                        return Err(de::Error::custom(format!("duplicate key `{}`", key.0)));
                    }
                    pairs.push((key, value));
                }
                Ok(Strings(pairs))
            }
        }
        d.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

impl Serialize for Strings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// An [`EmailAddress`](crate::model::record::EmailAddress) as stored, borrowed.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Address<'a> {
    #[serde(borrow)]
    address: Text<'a>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    personal: Option<Text<'a>>,
}

fn date(d: Option<IsoDate>) -> Option<String> {
    d.map(|d| d.0.to_iso_millis())
}

/// Writes one interaction resource as JSON into `out`.
pub fn write_resource(out: &mut Vec<u8>, row: &ContextRow, urls: &ContentUrls) -> Result<(), HistoryError> {
    let context: StoredContext<'_> = match &row.context_json {
        Some(json) => serde_json::from_str(json).map_err(|e| {
            HistoryError::Internal(crate::error::StoreError::Failed(format!("stored context does not parse: {e}")))
        })?,
        None => StoredContext::default(),
    };
    let resource = Resource {
        external_id: text(&context.external_id),
        established_date: date(context.established_date),
        text: urls.text.as_deref(),
        media_type: text(&context.media_type),
        udata: context.udata.as_ref(),
        binary_content: urls.binary_content.as_deref(),
        structured_text: urls.structured_text.as_deref(),
        status: context.status,
        subject: text(&context.subject),
        timeshift: context.timeshift,
        kind: text(&context.kind),
        interaction_id: &row.interaction_id,
        allow_children: context.allow_children,
        end_date: row.ended_at.map(Millis::to_iso_millis),
        owner_id: context.owner_id,
        sub_type: text(&context.sub_type),
        released_date: date(context.released_date),
        entity_type: context.entity_type,
        creator_app_id: context.creator_app_id,
        thread_id: text(&context.thread_id),
        start_date: row.started_at.to_iso_millis(),
        structured_text_mime: if row.has_structured_text { row.structured_text_mime.as_deref() } else { None },
        customer_id: row.customer_id.as_deref(),
        parent_id: text(&context.parent_id),
        duration: context.duration,
        outcome: text(&context.outcome),
        phone_number: text(&context.phone_number),
        tconnection_id: text(&context.tconnection_id),
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
    use crate::model::ordered::OrderedStrings;
    use crate::model::record::{Context, EmailAddress};
    use serde_json::json;

    fn row_with(context_json: &str) -> ContextRow {
        ContextRow {
            interaction_id: "i".into(),
            customer_id: None,
            started_at: Millis(0),
            ended_at: None,
            context_json: Some(context_json.into()),
            has_plain_text: false,
            has_structured_text: false,
            structured_text_mime: None,
            has_binary_content: false,
        }
    }

    /// The borrowed reading of a stored context renders every member of the owned `Context` it was
    /// stored from, escapes and all.
    #[test]
    fn every_member_of_a_stored_context_is_rendered_as_stored() {
        let address = |a: &str, p: Option<&str>| EmailAddress { address: a.into(), personal: p.map(Into::into) };
        let date = |t: &str| Some(IsoDate(Millis::parse_rfc3339(t).unwrap()));
        let context = Context {
            media_type: Some("email".into()),
            kind: Some("Inbound".into()),
            sub_type: Some("InboundNew".into()),
            status: Some(3),
            entity_type: Some(2),
            subject: Some("Re: \"quoted\" \\ back\u{1}slash\nline é €".into()),
            external_id: Some("00AF4A7951D60009".into()),
            thread_id: Some("t/1".into()),
            parent_id: Some("p1".into()),
            owner_id: Some(-7),
            creator_app_id: Some(i64::MAX),
            timeshift: Some(-60),
            allow_children: Some(false),
            established_date: date("2009-08-05T09:33:11.123Z"),
            released_date: date("2009-08-05T09:40:00Z"),
            udata: Some(OrderedStrings::from_iter([
                ("b\"k".to_string(), "2".to_string()),
                ("a".to_string(), String::new()),
                ("\t".to_string(), "x\u{7f}y".to_string()),
            ])),
            duration: Some(421),
            outcome: Some("resolved".into()),
            phone_number: Some("+15550100".into()),
            tconnection_id: Some("006b02a4".into()),
            from: Some(address("a@example.com", Some("Ann \"A\""))),
            reply_to: Some(address("r@example.com", None)),
            to: Some(vec![address("b@example.com", None), address("c@example.com", Some("C"))]),
            cc: Some(vec![]),
            sent_date: date("2009-08-05T09:33:10Z"),
        };
        let row = ContextRow {
            interaction_id: "00001a57JGQ00BW8".into(),
            customer_id: Some("00001a57JGQ00BVU".into()),
            started_at: Millis::parse_rfc3339("2009-08-05T09:33:10.000Z").unwrap(),
            ended_at: Some(Millis::parse_rfc3339("2009-08-05T09:43:10.000Z").unwrap()),
            context_json: Some(serde_json::to_string(&context).unwrap()),
            has_plain_text: false,
            has_structured_text: true,
            structured_text_mime: Some("text/html".into()),
            has_binary_content: false,
        };
        let urls = ContentUrls { structured_text: Some("http://h/s".into()), ..Default::default() };
        let mut out = Vec::new();
        write_resource(&mut out, &row, &urls).unwrap();
        let rendered: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&out).unwrap();
        let stored: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(row.context_json.as_deref().unwrap()).unwrap();
        for (name, value) in &stored {
            if name.ends_with("_date") {
                // Dates are printed with their milliseconds.
                let millis = Millis::parse_rfc3339(value.as_str().unwrap()).unwrap();
                assert_eq!(rendered[name], json!(millis.to_iso_millis()), "{name}");
            } else {
                assert_eq!(&rendered[name], value, "{name}");
            }
        }
        assert_eq!(rendered.len(), stored.len() + 6, "{:?}", rendered.keys());
        assert_eq!(rendered["interaction_id"], json!("00001a57JGQ00BW8"));
        assert_eq!(rendered["start_date"], json!("2009-08-05T09:33:10.000Z"));
        assert_eq!(rendered["end_date"], json!("2009-08-05T09:43:10.000Z"));
        assert_eq!(rendered["structured_text"], json!("http://h/s"));
        assert_eq!(rendered["structured_text_mime"], json!("text/html"));
        assert_eq!(rendered["customer_id"], json!("00001a57JGQ00BVU"));
        // udata keeps its order (serde_json's map above sorts it): the text, as the owned
        // `OrderedStrings` writes it.
        let udata = serde_json::to_string(context.udata.as_ref().unwrap()).unwrap();
        assert!(String::from_utf8(out).unwrap().contains(&format!("\"udata\":{udata},")), "{udata}");
    }

    #[test]
    fn a_stored_context_is_read_by_the_rules_of_context() {
        for json in [
            r#"{"udata":{"a":"1","a":"2"}}"#,
            r#"{"unknown":1}"#,
            r#"{"from":{"address":"a","x":1}}"#,
            r#"{"udata":{"a":1}}"#,
            r#"{"subject":7}"#,
            r#"{"sent_date":"yesterday"}"#,
        ] {
            assert!(serde_json::from_str::<Context>(json).is_err(), "{json}");
            assert!(write_resource(&mut Vec::new(), &row_with(json), &ContentUrls::default()).is_err(), "{json}");
        }
        let mut out = Vec::new();
        write_resource(&mut out, &row_with(r#"{"subject":null,"media_type":"chat"}"#), &ContentUrls::default())
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"media_type":"chat","interaction_id":"i","start_date":"1970-01-01T00:00:00.000Z"}"#
        );
    }

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
