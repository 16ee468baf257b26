//! The gateway's optional list parameters (the vendor defines none): `media_type`, `status`,
//! `from` / `to` on the start, `limit`, and `cursor`, the opaque position a `Link: rel="next"`
//! carries. Unknown parameters are ignored; a known one that does not parse is a 400.

use super::error::Failure;
use actix_web::web::Query;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ixgw_core::store::{ListCursor, ListQuery, ListSubject};
use ixgw_core::Millis;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The largest page a client may ask for with `limit`.
pub(super) const MAX_LIMIT: u32 = 1000;

/// Everything but the unreserved characters, for a query value or a path segment.
pub(super) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ListParams {
    pub media_type: Option<String>,
    pub status: Option<i32>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: Option<u32>,
    pub cursor: Option<ListCursor>,
}

impl ListParams {
    pub fn parse(query_string: &str) -> Result<Self, Failure> {
        let pairs = Query::<Vec<(String, String)>>::from_query(query_string)
            .map_err(|_| Failure::bad("query", query_string, "is not a valid query string"))?;
        let mut params = Self::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs.iter() {
            let Some(name) = KNOWN.iter().copied().find(|known| *known == name) else { continue };
            if seen.contains(&name) {
                return Err(Failure::bad(name, value, "is given more than once"));
            }
            seen.push(name);
            params.set(name, value)?;
        }
        Ok(params)
    }

    fn set(&mut self, name: &'static str, value: &str) -> Result<(), Failure> {
        match name {
            "media_type" if !value.is_empty() => self.media_type = Some(value.to_string()),
            "media_type" => return Err(Failure::bad(name, value, "must not be empty")),
            "status" => {
                let status = value.parse().ok().filter(|s| (0..=3).contains(s));
                self.status = Some(status.ok_or_else(|| Failure::bad(name, value, "is not 0, 1, 2 or 3"))?);
            }
            "from" => self.from = Some(date(name, value)?),
            "to" => self.to = Some(date(name, value)?),
            "limit" => {
                let limit = value.parse().ok().filter(|l| (1..=MAX_LIMIT).contains(l));
                self.limit = Some(limit.ok_or_else(|| Failure::bad(name, value, "is not an integer from 1 to 1000"))?);
            }
            "cursor" => {
                let cursor = decode_cursor(value);
                self.cursor = Some(cursor.ok_or_else(|| Failure::bad(name, value, "is not a cursor of this list"))?);
            }
            _ => {}
        }
        Ok(())
    }

    /// The store query for one fetch of `limit` rows after `after`.
    pub fn query(&self, subject: &ListSubject, after: Option<ListCursor>, limit: u32) -> ListQuery {
        ListQuery {
            subject: subject.clone(),
            media_type: self.media_type.clone(),
            status: self.status,
            from: self.from,
            to: self.to,
            after,
            limit,
        }
    }

    /// The query string of the page after `cursor`: these filters, the same limit, the new cursor.
    pub fn next_query(&self, cursor: &ListCursor) -> String {
        let from = self.from.map(Millis::to_iso_millis);
        let to = self.to.map(Millis::to_iso_millis);
        let status = self.status.map(|s| s.to_string());
        let limit = self.limit.map(|l| l.to_string());
        let cursor = encode_cursor(cursor);
        let pairs = [
            ("media_type", self.media_type.as_deref()),
            ("status", status.as_deref()),
            ("from", from.as_deref()),
            ("to", to.as_deref()),
            ("limit", limit.as_deref()),
            ("cursor", Some(cursor.as_str())),
        ];
        let encoded: Vec<String> = pairs
            .iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}={}", utf8_percent_encode(v, COMPONENT))))
            .collect();
        encoded.join("&")
    }
}

const KNOWN: [&str; 6] = ["media_type", "status", "from", "to", "limit", "cursor"];

fn date(name: &'static str, value: &str) -> Result<Millis, Failure> {
    Millis::parse_rfc3339(value)
        .map_err(|_| Failure::bad(name, value, "is not a date-time like 2009-08-05T09:33:10.000Z"))
}

/// `<start in epoch ms>.<interaction id>`, base64url: opaque to clients, safe in a URL.
pub(super) fn encode_cursor(cursor: &ListCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", cursor.started_at.0, cursor.interaction_id))
}

fn decode_cursor(text: &str) -> Option<ListCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (started_at, id) = text.split_once('.')?;
    let started_at = started_at.parse().ok().filter(|_| started_at.bytes().all(|b| b.is_ascii_digit() || b == b'-'))?;
    (!id.is_empty()).then(|| ListCursor { started_at: Millis(started_at), interaction_id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(ms: i64, id: &str) -> ListCursor {
        ListCursor { started_at: Millis(ms), interaction_id: id.to_string() }
    }

    fn rejected(query: &str) -> String {
        match ListParams::parse(query) {
            Err(Failure::BadParameter { name, .. }) => name.to_string(),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn no_parameters_is_the_vendors_query() {
        assert_eq!(ListParams::parse("").unwrap(), ListParams::default());
        assert_eq!(ListParams::parse("fields=all&sort=asc&_=1").unwrap(), ListParams::default());
    }

    #[test]
    fn filters_parse() {
        let p = ListParams::parse(
            "media_type=chat&status=3&from=2009-08-05T00:00:00Z&to=2009-08-06T02:00:00%2B02:00&limit=7",
        )
        .unwrap();
        assert_eq!(p.media_type.as_deref(), Some("chat"));
        assert_eq!(p.status, Some(3));
        assert_eq!(p.from.unwrap().to_iso_millis(), "2009-08-05T00:00:00.000Z");
        assert_eq!(p.to.unwrap().to_iso_millis(), "2009-08-06T00:00:00.000Z");
        assert_eq!(p.limit, Some(7));
        let q = p.query(&ListSubject::Service(4711), None, 8);
        assert_eq!((q.subject, q.limit, q.status), (ListSubject::Service(4711), 8, Some(3)));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, name) in [
            ("status=4", "status"),
            ("status=-1", "status"),
            ("status=open", "status"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("limit=99999999999999999999", "limit"),
            ("from=yesterday", "from"),
            ("to=2009-08-05", "to"),
            ("media_type=", "media_type"),
            ("cursor=%%%", "cursor"),
            ("cursor=bm90LWEtY3Vyc29y", "cursor"),
            ("status=1&status=2", "status"),
        ] {
            assert_eq!(rejected(query), name, "{query}");
        }
    }

    #[test]
    fn cursors_round_trip_and_forgeries_fail() {
        for c in [cursor(1_249_464_790_000, "00001a57JGQ00BW8"), cursor(-5, "a.b/c d&é"), cursor(0, "x")] {
            let text = encode_cursor(&c);
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
            assert_eq!(decode_cursor(&text), Some(c));
        }
        for forged in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("12."),
            &URL_SAFE_NO_PAD.encode("+1.x"),
            &URL_SAFE_NO_PAD.encode("1e3.x"),
        ] {
            assert_eq!(decode_cursor(forged), None, "{forged}");
        }
    }

    #[test]
    fn next_query_keeps_the_filters_and_moves_the_cursor() {
        let p = ListParams::parse("limit=7&status=3&media_type=e%20mail&from=2009-08-05T00:00:00Z&ignored=1").unwrap();
        let next = p.next_query(&cursor(1000, "id&1"));
        assert_eq!(
            next,
            format!(
                "media_type=e%20mail&status=3&from=2009-08-05T00%3A00%3A00.000Z&limit=7&cursor={}",
                encode_cursor(&cursor(1000, "id&1"))
            )
        );
        let again = ListParams::parse(&next).unwrap();
        assert_eq!(
            (again.media_type, again.status, again.from, again.limit),
            (p.media_type, p.status, p.from, p.limit)
        );
        assert_eq!(again.cursor, Some(cursor(1000, "id&1")));
    }
}
