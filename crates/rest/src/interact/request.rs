//! Reading an Interact request: credentials, path segments, the protocol version and the query
//! parameters. Values only; what they mean is the core's.

use actix_web::HttpRequest;
use ixgw_core::{HistoryError, HistoryService, Principal, Scope, SearchWindow};
use ixgw_web::{credentials, header, TENANT_ID};
use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// Authenticates the request (the core's Interact rule: `Tenant-Id` against `{accountID}`, then
/// `Application-Key` and `Environment-Name`), then checks `{version}`. Credentials come first, so
/// that an unauthenticated caller learns nothing about which requests would be valid.
pub async fn authenticate(req: &HttpRequest, service: &HistoryService) -> Result<Principal, HistoryError> {
    let account = segment(req, "accountID");
    let headers = req.headers();
    let principal =
        service.authenticate_account(&account, header(headers, TENANT_ID), credentials(headers), Scope::Read).await?;
    ixgw_web::authenticated(req, &principal);
    if !is_protocol_version(&segment(req, "version")) {
        return Err(HistoryError::invalid("version"));
    }
    Ok(principal)
}

/// A path segment, percent-decoded once. actix's router leaves `%2F`, `%25` and `%2B` encoded so
/// that they stay inside their segment; this decodes them (invalid UTF-8 becomes U+FFFD), exactly
/// as actix's own `web::Path` extraction would. Borrowed from the request unless it had an escape.
pub fn segment<'r>(req: &'r HttpRequest, name: &str) -> Cow<'r, str> {
    let raw = req.match_info().get(name).unwrap_or_default();
    percent_decode_str(raw).decode_utf8_lossy()
}

/// `1`, `2`, `3` … or `v1`, `v2` … (the vendor's docs write both forms).
pub fn is_protocol_version(text: &str) -> bool {
    let digits = text.strip_prefix('v').unwrap_or(text);
    (1..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && digits.bytes().any(|b| b != b'0')
}

/// The search window from `widerSearch` (absent, `true` or `false`; anything else is a 400).
pub fn window(req: &HttpRequest) -> Result<SearchWindow, HistoryError> {
    const NAME: &str = "widerSearch";
    let value = query_param(req.query_string(), NAME).ok_or_else(|| HistoryError::invalid(NAME))?;
    SearchWindow::from_param(value.as_deref()).ok_or_else(|| HistoryError::invalid(NAME))
}

/// `maxSize`: absent, or a positive integer number of pixels.
pub fn max_size(req: &HttpRequest) -> Result<Option<u32>, HistoryError> {
    const NAME: &str = "maxSize";
    let invalid = || HistoryError::invalid(NAME);
    match query_param(req.query_string(), NAME).ok_or_else(invalid)? {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u32>().ok().filter(|&n| n > 0).map(Some).ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

/// The value of query parameter `name`, form-decoded (`+` is a space). `None` (the outer one) when
/// the parameter is given more than once: two values are no value.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<Option<Cow<'a, str>>> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key) != name {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(form_decode(value));
    }
    Some(found)
}

fn form_decode(text: &str) -> Cow<'_, str> {
    if text.contains('+') {
        Cow::Owned(percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned())
    } else {
        percent_decode_str(text).decode_utf8_lossy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions() {
        for good in ["1", "2", "3", "10", "v1", "v2", "v12", "02"] {
            assert!(is_protocol_version(good), "{good}");
        }
        for bad in ["", "v", "0", "v0", "00", "x", "V2", "2.0", "-1", "+2", "vv2", " 2", "1234567890", "٢"] {
            assert!(!is_protocol_version(bad), "{bad}");
        }
    }

    #[test]
    fn query_parameters() {
        assert_eq!(query_param("", "widerSearch"), Some(None));
        assert_eq!(query_param("widerSearch=true", "widerSearch"), Some(Some("true".into())));
        assert_eq!(query_param("a=1&widerSearch=false&b", "widerSearch"), Some(Some("false".into())));
        assert_eq!(query_param("widerSearch", "widerSearch"), Some(Some("".into())));
        assert_eq!(query_param("wider%53earch=tr%75e", "widerSearch"), Some(Some("true".into())));
        assert_eq!(query_param("x=a+b%2Bc", "x"), Some(Some("a b+c".into())));
        assert_eq!(query_param("widersearch=true", "widerSearch"), Some(None));
        assert_eq!(query_param("widerSearch=true&widerSearch=true", "widerSearch"), None);
        assert_eq!(query_param("&&x=%zz&&", "x"), Some(Some("%zz".into())));
    }
}
