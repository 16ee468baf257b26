//! Replies in the original's Spring-WS / JAXB style: `SOAP-ENV` envelope prefix, an empty
//! `<SOAP-ENV:Header/>`, the payload element in the prefix `ns2` declared on itself, compact, no
//! XML declaration. Payloads are written straight from the core's typed model (`Page`,
//! `SummaryPage`, the variable set) into one buffer, members in the order of docs/PAGE-MODEL.md,
//! repeated members as repeated elements without a wrapper, absent optional members left out.
//!
//! Why not yaserde or quick-xml's serde serializer here: see docs/ARCHITECTURE.md, "SOAP face".

use crate::envelope::SoapVersion;
use crate::escape::escape_text;
use crate::page_xml::{write_page, NotAPage};
use crate::request::{Operation, AGENT_NS, TNS};
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::resources::summary::SummaryPage;
use ixgw_core::store::StoredFlow;
use ixgw_core::Millis;
use std::fmt::Display;

/// A whole envelope around `header` blocks (none: the empty `<SOAP-ENV:Header/>`) and the Body's
/// content.
pub fn envelope(version: SoapVersion, header: Option<&str>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 200);
    open_envelope(&mut out, version, header);
    out.push_str(body);
    close_envelope(&mut out);
    out
}

fn open_envelope(out: &mut String, version: SoapVersion, header: Option<&str>) {
    out.push_str("<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"");
    out.push_str(version.envelope_ns());
    out.push_str("\">");
    match header {
        Some(blocks) => {
            out.push_str("<SOAP-ENV:Header>");
            out.push_str(blocks);
            out.push_str("</SOAP-ENV:Header>");
        }
        None => out.push_str("<SOAP-ENV:Header/>"),
    }
    out.push_str("<SOAP-ENV:Body>");
}

fn close_envelope(out: &mut String) {
    out.push_str("</SOAP-ENV:Body></SOAP-ENV:Envelope>");
}

/// Where a payload is written: as the Body of a whole reply envelope, or alone (a fault's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Envelope(SoapVersion),
    Bare,
}

/// Writes `ns2:`-prefixed payload elements, straight into the reply's one buffer.
struct Payload {
    out: String,
    frame: Frame,
}

impl Payload {
    /// Opens the payload element `name` in namespace `ns` (declared as `ns2` on it).
    fn new(frame: Frame, name: &str, ns: &str, capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity + 160);
        if let Frame::Envelope(version) = frame {
            open_envelope(&mut out, version, None);
        }
        out.push_str("<ns2:");
        out.push_str(name);
        out.push_str(" xmlns:ns2=\"");
        out.push_str(ns);
        out.push_str("\">");
        Self { out, frame }
    }

    fn finish(mut self, name: &str) -> String {
        self.close(name);
        if let Frame::Envelope(_) = self.frame {
            close_envelope(&mut self.out);
        }
        self.out
    }

    fn open(&mut self, name: &str) {
        self.out.push_str("<ns2:");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</ns2:");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_text(&mut self.out, value);
        self.close(name);
    }

    fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    /// A value whose `Display` needs no escaping (numbers, booleans, dates).
    fn plain(&mut self, name: &str, value: impl Display) {
        use std::fmt::Write as _;
        self.open(name);
        let _ = write!(self.out, "{value}");
        self.close(name);
    }
}

fn response_name(op: Operation) -> String {
    format!("{}Response", op.name())
}

/// `<ns2:…Response>` with one `page` per stored page (none: the vendor's "EMPTY"), each written
/// from its canonical JSON (see `page_xml`).
pub fn full_flow(frame: Frame, op: Operation, flow: &StoredFlow) -> Result<String, NotAPage> {
    let name = response_name(op);
    // The XML of a page is about 1.6 times its JSON.
    let capacity = 256 + flow.pages().map(|p| p.len() * 5 / 3).sum::<usize>();
    let mut p = Payload::new(frame, &name, TNS, capacity);
    for json in flow.pages() {
        write_page(&mut p.out, json)?;
    }
    Ok(p.finish(&name))
}

pub fn summary(frame: Frame, op: Operation, pages: &[SummaryPage]) -> String {
    let name = response_name(op);
    let mut p = Payload::new(frame, &name, TNS, 512 + pages.len() * 512);
    for page in pages {
        p.open("page");
        p.text("pageId", &page.page_id);
        p.text("pageTitle", &page.page_title);
        p.plain("timestamp", Millis(page.timestamp).to_iso_millis());
        p.opt_text("header", page.header.as_deref());
        p.opt_text("footer", page.footer.as_deref());
        for answer in &page.answers {
            p.open("answers");
            p.text("id", &answer.id);
            p.opt_text("referenceName", answer.reference_name.as_deref());
            p.opt_text("label", answer.label.as_deref());
            p.text("value", &answer.value);
            p.close("answers");
        }
        p.close("page");
    }
    p.finish(&name)
}

/// The variable set as `voice/data/entry(key, value)*`, in the stored order.
pub fn variable_set(frame: Frame, op: Operation, variables: &OrderedStrings) -> String {
    let name = response_name(op);
    let mut p = Payload::new(frame, &name, TNS, 256 + variables.len() * 96);
    p.open("voice");
    p.open("data");
    for (key, value) in variables.iter() {
        p.open("entry");
        p.text("key", key);
        p.text("value", value);
        p.close("entry");
    }
    p.close("data");
    p.close("voice");
    p.finish(&name)
}

/// `GetInteractionUniqueIdResponse` of the agent namespace: the answer of GetInteractionUniqueId,
/// and the seed's not-found answer of every operation (then `text` is the not-found sentence).
pub fn unique_id(frame: Frame, text: &str) -> String {
    let name = "GetInteractionUniqueIdResponse";
    let mut p = Payload::new(frame, name, AGENT_NS, 256);
    p.text("uniqueId", text);
    p.finish(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ixgw_core::model::page::{
        Button, Choice, ChoiceKind, HtmlBlock, Page, Section, SelectFromList, TextInput, UploadImageList,
    };

    /// The optional button members that `textInput` and `selectFromList` start with (each type
    /// repeats a button's fields).
    macro_rules! button_members {
        ($writer:expr, $b:expr) => {{
            $writer.opt_text("id", $b.id.as_deref());
            $writer.opt_text("buttonState", $b.button_state.as_deref());
            $writer.opt_plain("buttonVisible", $b.button_visible);
            $writer.opt_text("buttonLabel", $b.button_label.as_deref());
            $writer.opt_text("buttonAction", $b.button_action.as_deref());
            $writer.opt_text("buttonImageName", $b.button_image_name.as_deref());
        }};
    }

    /// The typed model's own walk, in docs/PAGE-MODEL.md order: what `page_xml` must agree with.
    impl Payload {
        fn opt_plain(&mut self, name: &str, value: Option<impl std::fmt::Display>) {
            if let Some(value) = value {
                self.plain(name, value);
            }
        }

        fn page(&mut self, page: &Page) {
            self.open("page");
            let nav = &page.page_navigation;
            self.open("pageNavigation");
            self.text("navigationTitle", &nav.navigation_title);
            self.opt_text("pageReferenceName", nav.page_reference_name.as_deref());
            if let Some(b) = &nav.navigation_left {
                self.button("navigationLeft", b);
            }
            if let Some(b) = &nav.navigation_right {
                self.button("navigationRight", b);
            }
            self.close("pageNavigation");
            let content = &page.page_content;
            self.open("pageContent");
            if let Some(h) = &content.content_header {
                self.html_block("contentHeader", h);
            }
            for section in &content.content_sections {
                self.section(section);
            }
            if let Some(f) = &content.content_footer {
                self.html_block("contentFooter", f);
            }
            self.close("pageContent");
            self.plain("timestamp", Millis(page.timestamp).to_iso_millis());
            self.close("page");
        }

        fn html_block(&mut self, name: &str, block: &HtmlBlock) {
            self.open(name);
            self.text("id", &block.id);
            self.text("innerHtml", &block.inner_html);
            self.close(name);
        }

        fn button(&mut self, name: &str, b: &Button) {
            self.open(name);
            self.opt_text("id", b.id.as_deref());
            self.text("buttonState", &b.button_state);
            self.plain("buttonVisible", b.button_visible);
            self.opt_text("buttonLabel", b.button_label.as_deref());
            self.opt_text("buttonAction", b.button_action.as_deref());
            self.opt_text("buttonImageName", b.button_image_name.as_deref());
            self.close(name);
        }

        fn section(&mut self, s: &Section) {
            self.open("contentSections");
            self.text("id", &s.id);
            self.opt_text("sectionLabel", s.section_label.as_deref());
            self.opt_text("sectionGroupType", s.section_group_type.as_deref());
            self.opt_plain("sectionNumberOfColumns", s.section_number_of_columns);
            for choice in &s.section_choices {
                self.choice(choice);
            }
            self.close("contentSections");
        }

        fn choice(&mut self, c: &Choice) {
            self.open("sectionChoices");
            self.text("id", &c.id);
            self.text("choiceValue", &c.choice_value);
            let name = c.kind.member_name();
            match &c.kind {
                ChoiceKind::ClickToContinue(b) | ChoiceKind::ChoiceOption(b) | ChoiceKind::ChoiceSwitch(b) => {
                    self.button(name, b)
                }
                ChoiceKind::SelectFromList(s) => self.select_from_list(name, s),
                ChoiceKind::TextInput(t) => self.text_input(name, t),
                ChoiceKind::UploadImageList(u) => self.upload_image_list(name, u),
            }
            self.close("sectionChoices");
        }

        fn text_input(&mut self, name: &str, t: &TextInput) {
            self.open(name);
            button_members!(self, t);
            self.opt_plain("isMandatory", t.is_mandatory);
            self.opt_plain("maxCharacters", t.max_characters);
            self.opt_plain("numberOfLines", t.number_of_lines);
            self.opt_text("placeHolderText", t.place_holder_text.as_deref());
            self.opt_text("textColor", t.text_color.as_deref());
            self.opt_text("textInputFormat", t.text_input_format.as_deref());
            self.opt_text("textMask", t.text_mask.as_deref());
            self.opt_text("validationRegularExpresion", t.validation_regular_expresion.as_deref());
            self.opt_text("minRange", t.min_range.as_deref());
            self.opt_text("maxRange", t.max_range.as_deref());
            self.close(name);
        }

        fn select_from_list(&mut self, name: &str, s: &SelectFromList) {
            self.open(name);
            button_members!(self, s);
            self.opt_plain("isMandatory", s.is_mandatory);
            for option in &s.select_from_list_options {
                self.button("selectFromListOptions", option);
            }
            self.close(name);
        }

        fn upload_image_list(&mut self, name: &str, u: &UploadImageList) {
            self.open(name);
            self.opt_plain("isMandatory", u.is_mandatory);
            for image in &u.images {
                self.open("images");
                self.text("imagePath", &image.image_path);
                self.close("images");
            }
            self.close(name);
        }
    }

    #[test]
    fn the_seed_not_found_reply() {
        let text = "history for attribute <attribute search> was not found";
        let body = unique_id(Frame::Bare, text);
        for version in [SoapVersion::V11, SoapVersion::V12] {
            assert_eq!(unique_id(Frame::Envelope(version), text), envelope(version, None, &body));
        }
        assert_eq!(
            envelope(SoapVersion::V11, None, &body),
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Header/><SOAP-ENV:Body>\
             <ns2:GetInteractionUniqueIdResponse xmlns:ns2=\"http://com/jacada/interact/agent/soap\">\
             <ns2:uniqueId>history for attribute &lt;attribute search&gt; was not found</ns2:uniqueId>\
             </ns2:GetInteractionUniqueIdResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        );
    }

    #[test]
    fn pages_in_model_order_with_xs_datetime() {
        let page: Page = serde_json::from_str(
            r#"{"pageNavigation":{"navigationTitle":"T & <b>","navigationRight":{"buttonState":"NORMAL","buttonVisible":true,"buttonLabel":"Next"}},
                "pageContent":{"contentSections":[{"id":"s","sectionNumberOfColumns":2,"sectionChoices":[
                  {"id":"c","choiceValue":"v","textInput":{"isMandatory":true,"maxCharacters":5}},
                  {"id":"u","choiceValue":"","uploadImageList":{"images":[{"imagePath":"/a"}]}}]}]},
                "timestamp":1790847190000}"#,
        )
        .unwrap();
        let body = full_flow(Frame::Bare, Operation::FullFlowByUuid, &stored(&[&page.to_json()])).unwrap();
        assert_eq!(body, reference_flow(&[page]));
        assert_eq!(
            body,
            "<ns2:GetInteractionFullFlowByUUIDResponse xmlns:ns2=\"http://com/jacada/interact/interactiondata/soap\"><ns2:page>\
             <ns2:pageNavigation><ns2:navigationTitle>T &amp; &lt;b&gt;</ns2:navigationTitle><ns2:navigationRight>\
             <ns2:buttonState>NORMAL</ns2:buttonState><ns2:buttonVisible>true</ns2:buttonVisible><ns2:buttonLabel>Next</ns2:buttonLabel>\
             </ns2:navigationRight></ns2:pageNavigation><ns2:pageContent><ns2:contentSections><ns2:id>s</ns2:id>\
             <ns2:sectionNumberOfColumns>2</ns2:sectionNumberOfColumns><ns2:sectionChoices><ns2:id>c</ns2:id>\
             <ns2:choiceValue>v</ns2:choiceValue><ns2:textInput><ns2:isMandatory>true</ns2:isMandatory>\
             <ns2:maxCharacters>5</ns2:maxCharacters></ns2:textInput></ns2:sectionChoices><ns2:sectionChoices><ns2:id>u</ns2:id>\
             <ns2:choiceValue></ns2:choiceValue><ns2:uploadImageList><ns2:images><ns2:imagePath>/a</ns2:imagePath></ns2:images>\
             </ns2:uploadImageList></ns2:sectionChoices></ns2:contentSections></ns2:pageContent>\
             <ns2:timestamp>2026-10-01T09:33:10.000Z</ns2:timestamp></ns2:page></ns2:GetInteractionFullFlowByUUIDResponse>"
        );
        assert_eq!(
            full_flow(Frame::Bare, Operation::FullFlowByCallerAttribute, &stored(&[])).unwrap(),
            "<ns2:GetInteractionFullFlowByCallerAttributeResponse xmlns:ns2=\"http://com/jacada/interact/interactiondata/soap\">\
             </ns2:GetInteractionFullFlowByCallerAttributeResponse>"
        );
    }

    fn stored(pages: &[&str]) -> StoredFlow {
        let mut flow = StoredFlow::new("i".into(), 0);
        pages.iter().for_each(|p| flow.push_page(p));
        flow
    }

    /// The flow as the typed model's walk writes it.
    fn reference_flow(pages: &[Page]) -> String {
        let name = response_name(Operation::FullFlowByUuid);
        let mut p = Payload::new(Frame::Bare, &name, TNS, 4096);
        for page in pages {
            p.page(page);
        }
        p.finish(&name)
    }

    fn assert_same_as_the_model(page: &Page) {
        let json = page.to_json();
        assert_eq!(
            full_flow(Frame::Bare, Operation::FullFlowByUuid, &stored(&[&json])).unwrap(),
            reference_flow(std::slice::from_ref(page)),
            "{json}"
        );
    }

    #[test]
    fn every_demo_page_reads_as_the_model_walks_it() {
        let records = include_str!("../../../fixtures/demo/interactions.ndjson");
        let mut pages = 0;
        for line in records.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            for page in record["pages"].as_array().into_iter().flatten() {
                assert_same_as_the_model(&serde_json::from_value(page.clone()).unwrap());
                pages += 1;
            }
        }
        assert!(pages >= 18, "the demo has {pages} pages");
    }

    /// A deterministic stream of numbers for the generated pages.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
        fn yes(&mut self) -> bool {
            self.next(2) == 0
        }
        /// Text with what escaping must get right: markup, quotes, JSON escapes, control
        /// characters, carriage returns, non-ASCII, U+FFFE, astral characters.
        fn text(&mut self) -> String {
            const PIECES: [&str; 16] = [
                "a", "Report", " ", "&", "<b>", "\"", "\\", "\r\n", "\t", "\u{1}", "\u{1f}", "é–", "\u{FFFE}", "😀",
                "]]>", "/",
            ];
            (0..self.next(6)).map(|_| PIECES[self.next(16) as usize]).collect()
        }
        fn opt_text(&mut self) -> Option<String> {
            self.yes().then(|| self.text())
        }
        fn button(&mut self) -> Button {
            Button {
                id: self.opt_text(),
                button_state: self.text(),
                button_visible: self.yes(),
                button_label: self.opt_text(),
                button_action: self.opt_text(),
                button_image_name: self.opt_text(),
            }
        }
        fn choice(&mut self) -> Choice {
            let kind = match self.next(6) {
                0 => ChoiceKind::ClickToContinue(self.button()),
                1 => ChoiceKind::ChoiceOption(self.button()),
                2 => ChoiceKind::ChoiceSwitch(self.button()),
                3 => ChoiceKind::SelectFromList(SelectFromList {
                    id: self.opt_text(),
                    button_state: self.opt_text(),
                    button_visible: self.yes().then(|| self.yes()),
                    button_label: self.opt_text(),
                    button_action: self.opt_text(),
                    button_image_name: self.opt_text(),
                    is_mandatory: self.yes().then(|| self.yes()),
                    select_from_list_options: (0..self.next(3)).map(|_| self.button()).collect(),
                }),
                4 => ChoiceKind::TextInput(TextInput {
                    id: self.opt_text(),
                    button_state: self.opt_text(),
                    button_visible: self.yes().then(|| self.yes()),
                    button_label: self.opt_text(),
                    button_action: self.opt_text(),
                    button_image_name: self.opt_text(),
                    is_mandatory: self.yes().then(|| self.yes()),
                    max_characters: self.yes().then(|| self.next(5000) as u32),
                    number_of_lines: self.yes().then(|| self.next(10) as u32),
                    place_holder_text: self.opt_text(),
                    text_color: self.opt_text(),
                    text_input_format: self.opt_text(),
                    text_mask: self.opt_text(),
                    validation_regular_expresion: self.opt_text(),
                    min_range: self.opt_text(),
                    max_range: self.opt_text(),
                }),
                _ => ChoiceKind::UploadImageList(UploadImageList {
                    is_mandatory: self.yes().then(|| self.yes()),
                    images: (0..self.next(3))
                        .map(|_| ixgw_core::model::page::Image { image_path: self.text() })
                        .collect(),
                }),
            };
            Choice { id: self.text(), choice_value: self.text(), kind }
        }
        fn page(&mut self) -> Page {
            let block = |r: &mut Rng| HtmlBlock { id: r.text(), inner_html: r.text() };
            Page {
                page_navigation: ixgw_core::model::page::PageNavigation {
                    navigation_title: self.text(),
                    page_reference_name: self.opt_text(),
                    navigation_left: self.yes().then(|| self.button()),
                    navigation_right: self.yes().then(|| self.button()),
                },
                page_content: ixgw_core::model::page::PageContent {
                    content_header: self.yes().then(|| block(self)),
                    content_sections: (0..self.next(3))
                        .map(|_| Section {
                            id: self.text(),
                            section_label: self.opt_text(),
                            section_group_type: self.opt_text(),
                            section_number_of_columns: self.yes().then(|| self.next(4) as i32 - 1),
                            section_choices: (0..self.next(4)).map(|_| self.choice()).collect(),
                        })
                        .collect(),
                    content_footer: self.yes().then(|| block(self)),
                },
                timestamp: self.next(4_000_000_000_000) as i64 - 100_000_000_000,
            }
        }
    }

    #[test]
    fn generated_pages_read_as_the_model_walks_them() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            assert_same_as_the_model(&rng.page());
        }
    }

    #[test]
    fn what_is_not_a_canonical_page_is_an_error_not_a_panic() {
        let json = Rng(7).page().to_json();
        for cut in 0..json.len() {
            if json.is_char_boundary(cut) {
                assert!(
                    full_flow(Frame::Bare, Operation::FullFlowByUuid, &stored(&[&json[..cut]])).is_err(),
                    "{}",
                    &json[..cut]
                );
            }
        }
        for broken in [
            "",
            "{",
            "[]",
            "{\"a\":}",
            "{\"a\":1}x",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"\":1}",
            "{\"a\" 1}",
        ] {
            assert!(full_flow(Frame::Bare, Operation::FullFlowByUuid, &stored(&[broken])).is_err(), "{broken}");
        }
    }

    #[test]
    fn variable_sets_keep_their_order() {
        let vars: OrderedStrings =
            [("b", "2"), ("a", "")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(
            variable_set(Frame::Bare, Operation::VariableSetByUuid, &vars),
            "<ns2:GetVariableSetByUUIDResponse xmlns:ns2=\"http://com/jacada/interact/interactiondata/soap\"><ns2:voice><ns2:data>\
             <ns2:entry><ns2:key>b</ns2:key><ns2:value>2</ns2:value></ns2:entry>\
             <ns2:entry><ns2:key>a</ns2:key><ns2:value></ns2:value></ns2:entry>\
             </ns2:data></ns2:voice></ns2:GetVariableSetByUUIDResponse>"
        );
    }
}
