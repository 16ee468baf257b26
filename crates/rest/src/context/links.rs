//! The absolute URLs the face prints: the content sub-resources in a resource (`text`,
//! `structured_text`, `binary_content`) and the `Link: rel="next"` of a paged list. Each is the
//! public base URL (configured, else from the request's forwarded headers) plus the mount the
//! request came in on (the root, or the configured base path).

use super::params::COMPONENT;
use ixgw_core::resources::context_services::ContentUrls;
use ixgw_core::store::{ContentPart, ContextRow, ListSubject};
use percent_encoding::utf8_percent_encode;

/// `scheme://host[:port][/base/path]`, no trailing slash: what every printed URL starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Links {
    root: String,
}

impl Links {
    pub fn new(base_url: &str, mount: &str) -> Self {
        Self { root: format!("{base_url}{mount}") }
    }

    fn content(&self, interaction_id: &str, part: ContentPart) -> String {
        format!("{}/interactions/{}/{}", self.root, utf8_percent_encode(interaction_id, COMPONENT), part.path_segment())
    }

    /// The URLs of the content parts `row` has.
    pub fn content_urls(&self, row: &ContextRow) -> ContentUrls {
        let url = |has: bool, part| has.then(|| self.content(&row.interaction_id, part));
        ContentUrls {
            text: url(row.has_plain_text, ContentPart::PlainText),
            structured_text: url(row.has_structured_text, ContentPart::StructuredText),
            binary_content: url(row.has_binary_content, ContentPart::BinaryContent),
        }
    }

    /// The list URL of `subject` with `query` (already encoded).
    pub fn list(&self, subject: &ListSubject, query: &str) -> String {
        let subject = match subject {
            ListSubject::Customer(id) => format!("customers/{}", utf8_percent_encode(id, COMPONENT)),
            ListSubject::Service(id) => format!("services/{id}"),
        };
        format!("{}/{subject}/interactions?{query}", self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ixgw_core::Millis;

    fn row(id: &str, plain: bool, structured: bool, binary: bool) -> ContextRow {
        ContextRow {
            interaction_id: id.into(),
            customer_id: None,
            started_at: Millis(0),
            ended_at: None,
            context_json: None,
            has_plain_text: plain,
            has_structured_text: structured,
            structured_text_mime: None,
            has_binary_content: binary,
        }
    }

    #[test]
    fn content_urls_for_the_parts_that_exist() {
        let links = Links::new("https://gw.example.com", "/genesys/1/cs");
        let urls = links.content_urls(&row("00001a57JGQ00BW8", true, false, true));
        assert_eq!(
            urls.text.as_deref(),
            Some("https://gw.example.com/genesys/1/cs/interactions/00001a57JGQ00BW8/plain_text")
        );
        assert_eq!(urls.structured_text, None);
        assert_eq!(
            urls.binary_content.as_deref(),
            Some("https://gw.example.com/genesys/1/cs/interactions/00001a57JGQ00BW8/binary_content")
        );
        let root = Links::new("http://127.0.0.1:8080", "");
        let urls = root.content_urls(&row("a/b c?#é", false, true, false));
        assert_eq!(
            urls.structured_text.as_deref(),
            Some("http://127.0.0.1:8080/interactions/a%2Fb%20c%3F%23%C3%A9/structured_text")
        );
    }

    #[test]
    fn list_urls() {
        let links = Links::new("http://h", "/cs");
        assert_eq!(
            links.list(&ListSubject::Customer("x/y".into()), "limit=2"),
            "http://h/cs/customers/x%2Fy/interactions?limit=2"
        );
        assert_eq!(
            links.list(&ListSubject::Service(-4711), "limit=2"),
            "http://h/cs/services/-4711/interactions?limit=2"
        );
    }
}
