//! The Interaction Summary (sibling method): only the pages with user input, and within them only
//! what the user entered or selected. Key names are the gateway's (the vendor's are not public).

use crate::model::page::{ChoiceKind, HtmlBlock, Page};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryPage {
    pub page_id: String,
    pub page_title: String,
    /// Epoch milliseconds, as in the full flow.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub value: String,
}

/// Summarises a full flow.
pub fn summarize(pages: &[Page]) -> Vec<SummaryPage> {
    pages.iter().enumerate().filter_map(|(n, page)| summarize_page(n, page)).collect()
}

fn summarize_page(n: usize, page: &Page) -> Option<SummaryPage> {
    let mut answers = Vec::new();
    for section in &page.page_content.content_sections {
        for choice in &section.section_choices {
            let value = match &choice.kind {
                ChoiceKind::UploadImageList(u) => {
                    u.images.iter().map(|i| i.image_path.as_str()).collect::<Vec<_>>().join(",")
                }
                _ => choice.choice_value.clone(),
            };
            if value.is_empty() {
                continue;
            }
            answers.push(Answer {
                id: choice.id.clone(),
                reference_name: Some(section.id.clone()),
                label: section.section_label.clone(),
                value,
            });
        }
    }
    if answers.is_empty() {
        return None;
    }
    let header = page.page_content.content_header.as_ref();
    Some(SummaryPage {
        page_id: page
            .page_navigation
            .page_reference_name
            .clone()
            .or_else(|| header.map(|h| h.id.clone()))
            .unwrap_or_else(|| format!("page-{}", n + 1)),
        page_title: page.page_navigation.navigation_title.clone(),
        timestamp: page.timestamp,
        header: header.map(plain_text).filter(|t| !t.is_empty()),
        footer: page.page_content.content_footer.as_ref().map(plain_text).filter(|t| !t.is_empty()),
        answers,
    })
}

fn plain_text(block: &HtmlBlock) -> String {
    html_to_text(&block.inner_html)
}

/// Drops tags (and the content of `script`/`style`), decodes the common entities, folds white space.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[1..gt].trim_start_matches('/').to_ascii_lowercase();
        rest = &after[gt + 1..];
        for skipped in ["script", "style"] {
            if tag.starts_with(skipped) && !after[1..].starts_with('/') {
                let close = format!("</{skipped}");
                rest = match rest.to_ascii_lowercase().find(&close) {
                    Some(i) => &rest[i..],
                    None => "",
                };
            }
        }
        out.push(' ');
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_text_stays() {
        assert_eq!(
            html_to_text(r#"<span style="word-wrap:break-word;">Tell us <b>what</b> happened</span>"#),
            "Tell us what happened"
        );
        assert_eq!(html_to_text("Fish &amp; chips<br/>&lt;today&gt;"), "Fish & chips <today>");
        assert_eq!(html_to_text("<style>p{}</style>Hi<script>x()</script> there"), "Hi there");
        assert_eq!(html_to_text("broken <span"), "broken");
    }

    #[test]
    fn only_pages_with_input_and_only_the_input() {
        let pages: Vec<Page> = serde_json::from_str(
            r#"[
            {"pageNavigation":{"navigationTitle":"Welcome"},"pageContent":{"contentSections":[{"id":"s0","sectionChoices":[
                {"id":"go","choiceValue":"","clickToContinue":{"buttonState":"NORMAL","buttonVisible":true}}]}]},"timestamp":1},
            {"pageNavigation":{"navigationTitle":"Device","pageReferenceName":"device"},
             "pageContent":{"contentHeader":{"id":"h","innerHtml":"<b>Pick</b> one"},"contentSections":[{"id":"s1","sectionLabel":"Device","sectionChoices":[
                {"id":"c1","choiceValue":"opt-2","selectFromList":{"selectFromListOptions":[]}},
                {"id":"c2","choiceValue":"","textInput":{}},
                {"id":"c3","choiceValue":"","uploadImageList":{"images":[{"imagePath":"/a"},{"imagePath":"/b"}]}}]}]},"timestamp":2}
            ]"#,
        )
        .unwrap();
        let s = summarize(&pages);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].page_id, "device");
        assert_eq!(s[0].header.as_deref(), Some("Pick one"));
        let values: Vec<_> = s[0].answers.iter().map(|a| (a.id.as_str(), a.value.as_str())).collect();
        assert_eq!(values, [("c1", "opt-2"), ("c3", "/a,/b")]);
        assert_eq!(s[0].answers[0].label.as_deref(), Some("Device"));
    }
}
