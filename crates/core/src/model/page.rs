//! The typed page model of an interaction's full flow (see `docs/PAGE-MODEL.md`).
//!
//! Field order in these structs is the wire order: serde serializes in declaration order, and the
//! SOAP face walks the same structs. Optional members are skipped, never written as `null`. Unknown
//! members are refused on input (`deny_unknown_fields`) so that a typo never disappears silently.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// One completed page, as the full flow returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page {
    pub page_navigation: PageNavigation,
    pub page_content: PageContent,
    /// Time of the page navigation, epoch milliseconds.
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageNavigation {
    pub navigation_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_reference_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_left: Option<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_right: Option<Button>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_header: Option<HtmlBlock>,
    #[serde(default)]
    pub content_sections: Vec<Section>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_footer: Option<HtmlBlock>,
}

/// A block of page HTML. `inner_html` is text to every renderer: escaped, never spliced as markup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HtmlBlock {
    pub id: String,
    pub inner_html: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Section {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_group_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_number_of_columns: Option<i32>,
    #[serde(default)]
    pub section_choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Button {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub button_state: String,
    pub button_visible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_image_name: Option<String>,
}

/// The button part of a `textInput` or `selectFromList`: every member optional there.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_image_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mandatory: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_characters: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_lines: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_holder_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_input_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_mask: Option<String>,
    /// The vendor's spelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_regular_expresion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectFromList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_image_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mandatory: Option<bool>,
    #[serde(default)]
    pub select_from_list_options: Vec<Button>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadImageList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mandatory: Option<bool>,
    #[serde(default)]
    pub images: Vec<Image>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    pub image_path: String,
}

/// What kind of input a section choice is: exactly one per choice.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceKind {
    ClickToContinue(Button),
    ChoiceOption(Button),
    ChoiceSwitch(Button),
    SelectFromList(SelectFromList),
    TextInput(TextInput),
    UploadImageList(UploadImageList),
}

impl ChoiceKind {
    /// The member name the kind travels under, in JSON and XML alike.
    pub fn member_name(&self) -> &'static str {
        match self {
            Self::ClickToContinue(_) => "clickToContinue",
            Self::ChoiceOption(_) => "choiceOption",
            Self::ChoiceSwitch(_) => "choiceSwitch",
            Self::SelectFromList(_) => "selectFromList",
            Self::TextInput(_) => "textInput",
            Self::UploadImageList(_) => "uploadImageList",
        }
    }
}

/// A section choice: its id, what the user entered or selected, and its kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ChoiceWire")]
pub struct Choice {
    pub id: String,
    pub choice_value: String,
    pub kind: ChoiceKind,
}

/// The input shape of a choice, before "exactly one kind" is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChoiceWire {
    id: String,
    choice_value: String,
    click_to_continue: Option<Button>,
    choice_option: Option<Button>,
    choice_switch: Option<Button>,
    select_from_list: Option<SelectFromList>,
    text_input: Option<TextInput>,
    upload_image_list: Option<UploadImageList>,
}

impl TryFrom<ChoiceWire> for Choice {
    type Error = String;
    fn try_from(w: ChoiceWire) -> Result<Self, String> {
        let mut kinds = Vec::with_capacity(1);
        kinds.extend(w.click_to_continue.map(ChoiceKind::ClickToContinue));
        kinds.extend(w.choice_option.map(ChoiceKind::ChoiceOption));
        kinds.extend(w.choice_switch.map(ChoiceKind::ChoiceSwitch));
        kinds.extend(w.select_from_list.map(ChoiceKind::SelectFromList));
        kinds.extend(w.text_input.map(ChoiceKind::TextInput));
        kinds.extend(w.upload_image_list.map(ChoiceKind::UploadImageList));
        if kinds.len() != 1 {
            let found: Vec<_> = kinds.iter().map(ChoiceKind::member_name).collect();
            return Err(format!(
                "choice `{}` must carry exactly one of clickToContinue, choiceOption, choiceSwitch, \
                 selectFromList, textInput, uploadImageList (found {})",
                w.id,
                if found.is_empty() { "none".to_string() } else { found.join(", ") }
            ));
        }
        Ok(Choice { id: w.id, choice_value: w.choice_value, kind: kinds.remove(0) })
    }
}

impl Serialize for Choice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("choiceValue", &self.choice_value)?;
        let name = self.kind.member_name();
        match &self.kind {
            ChoiceKind::ClickToContinue(b) | ChoiceKind::ChoiceOption(b) | ChoiceKind::ChoiceSwitch(b) => {
                map.serialize_entry(name, b)?
            }
            ChoiceKind::SelectFromList(s) => map.serialize_entry(name, s)?,
            ChoiceKind::TextInput(t) => map.serialize_entry(name, t)?,
            ChoiceKind::UploadImageList(u) => map.serialize_entry(name, u)?,
        }
        map.end()
    }
}

impl Page {
    /// The canonical JSON of this page: what the REST full flow sends for it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a page always serializes")
    }

    /// Every image path the page's upload choices refer to.
    pub fn image_paths(&self) -> impl Iterator<Item = &str> {
        self.page_content
            .content_sections
            .iter()
            .flat_map(|s| s.section_choices.iter())
            .filter_map(|c| match &c.kind {
                ChoiceKind::UploadImageList(u) => Some(u.images.iter().map(|i| i.image_path.as_str())),
                _ => None,
            })
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "pageNavigation": {
        "navigationTitle": "Report a broken device",
        "pageReferenceName": "reportDevice",
        "navigationLeft":  {"buttonState": "NORMAL", "buttonVisible": true, "buttonLabel": "Back",
                            "buttonAction": "server://navigationType?type=PREVIOUS&shouldSendFormData=false"},
        "navigationRight": {"buttonState": "NORMAL", "buttonVisible": true, "buttonLabel": "Next",
                            "buttonAction": "server://navigationType?type=NEXT&shouldSendFormData=true"}
      },
      "pageContent": {
        "contentHeader": {"id": "1362464372212-888266df72834abe461732ed02df13d3592faf7-407a",
                          "innerHtml": "<span style=\"word-wrap:break-word;\">Tell us what happened</span>"},
        "contentSections": [{
          "id": "1362464372212-1a2b-407b", "sectionLabel": "Device", "sectionGroupType": "SINGLE",
          "sectionNumberOfColumns": 1,
          "sectionChoices": [
            {"id": "c1", "choiceValue": "Screen is cracked",
             "textInput": {"isMandatory": true, "maxCharacters": 200, "numberOfLines": 3,
                           "placeHolderText": "Describe the damage", "textInputFormat": "TEXT"}},
            {"id": "c2", "choiceValue": "opt-2",
             "selectFromList": {"isMandatory": true, "selectFromListOptions": [
                {"id": "opt-1", "buttonLabel": "Phone", "buttonState": "NORMAL", "buttonVisible": true},
                {"id": "opt-2", "buttonLabel": "Tablet", "buttonState": "NORMAL", "buttonVisible": true}]}},
            {"id": "c3", "choiceValue": "",
             "uploadImageList": {"isMandatory": false, "images": [{"imagePath": "/mnt/sdcard/home/downloads/i1152998579"}]}}
          ]
        }]
      },
      "timestamp": 1790847190000
    }"#;

    #[test]
    fn the_spec_sample_round_trips_in_vendor_order() {
        let page: Page = serde_json::from_str(SAMPLE).unwrap();
        let json = page.to_json();
        assert!(json.starts_with(r#"{"pageNavigation":{"navigationTitle":"Report a broken device","pageReferenceName":"reportDevice","navigationLeft":{"buttonState":"NORMAL""#));
        assert!(json.ends_with(r#""timestamp":1790847190000}"#));
        assert!(json.contains(r#"{"id":"c2","choiceValue":"opt-2","selectFromList":{"isMandatory":true,"selectFromListOptions":[{"id":"opt-1","buttonState":"NORMAL","buttonVisible":true,"buttonLabel":"Phone"}"#));
        assert!(!json.contains("null"));
        let again: Page = serde_json::from_str(&json).unwrap();
        assert_eq!(again, page);
        assert_eq!(page.image_paths().collect::<Vec<_>>(), ["/mnt/sdcard/home/downloads/i1152998579"]);
    }

    #[test]
    fn a_choice_needs_exactly_one_kind() {
        let none = r#"{"id":"c9","choiceValue":"x"}"#;
        let err = serde_json::from_str::<Choice>(none).unwrap_err().to_string();
        assert!(err.contains("exactly one") && err.contains("found none"), "{err}");
        let two = r#"{"id":"c9","choiceValue":"x","choiceOption":{"buttonState":"NORMAL","buttonVisible":true},
                      "choiceSwitch":{"buttonState":"NORMAL","buttonVisible":true}}"#;
        let err = serde_json::from_str::<Choice>(two).unwrap_err().to_string();
        assert!(err.contains("choiceOption, choiceSwitch"), "{err}");
    }

    #[test]
    fn unknown_members_are_refused() {
        let typo = SAMPLE.replace("\"navigationTitle\"", "\"navigationTitel\"");
        let err = serde_json::from_str::<Page>(&typo).unwrap_err().to_string();
        assert!(err.contains("navigationTitel"), "{err}");
    }
}
