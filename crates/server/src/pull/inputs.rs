//! The files a pull starts from, as a contact-centre platform exports them: unique ids, customer or
//! service ids (one a line, or CSV with a header; the ids file may add each interaction's start and
//! end), and caller attributes (CSV `uniqueId,kind,value,allocated_at`). Every line is checked
//! before anything is fetched, so a typo stops the pull at once with its file and line.

use anyhow::{anyhow, bail};
use ixgw_core::model::record::{CallerAttribute, CallerAttributeKind};
use ixgw_core::model::time::IsoDate;
use ixgw_core::Millis;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One id of a list file, with the dates its row may give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub id: String,
    pub started_at: Option<IsoDate>,
    pub ended_at: Option<IsoDate>,
}

/// Header names (compared without case, `_`, `-` or spaces) of a list's id column.
pub const UNIQUE_ID_COLUMNS: [&str; 4] = ["uniqueid", "interactionuniqueid", "interactionid", "id"];
pub const INTERACTION_COLUMNS: [&str; 4] = ["interactionid", "uniqueid", "interactionuniqueid", "id"];
pub const CUSTOMER_COLUMNS: [&str; 3] = ["customerid", "customer", "id"];
pub const SERVICE_COLUMNS: [&str; 3] = ["serviceid", "service", "id"];
const STARTED_COLUMNS: [&str; 3] = ["startedat", "startdate", "start"];
const ENDED_COLUMNS: [&str; 3] = ["endedat", "enddate", "end"];

/// Reads a list of ids: one a line (blank lines and `#` comments skipped), or CSV whose header
/// names one of `id_columns` (and, for interactions, optional start and end columns). Repeated
/// ids are kept once, at their first line.
pub fn read_list(path: &Path, id_columns: &[&str]) -> anyhow::Result<Vec<ListEntry>> {
    let text = read_text(path)?;
    let name = path.display();
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
    let is_csv = first.contains([',', '"']) || id_columns.contains(&normalize(first).as_str());
    let mut entries = Vec::new();
    if is_csv {
        let table = Table::parse(&text).map_err(|e| anyhow!("{name}: {e}"))?;
        let id = table.column(id_columns).ok_or_else(|| {
            anyhow!("{name}: the header names no id column (expected one of {})", id_columns.join(", "))
        })?;
        let started = table.column(&STARTED_COLUMNS);
        let ended = table.column(&ENDED_COLUMNS);
        for (line, row) in &table.rows {
            let date = |column: Option<usize>| -> anyhow::Result<Option<IsoDate>> {
                match column.map(|c| row[c].trim()).filter(|v| !v.is_empty()) {
                    Some(text) => {
                        Millis::parse_rfc3339(text).map(|m| Some(IsoDate(m))).map_err(|e| anyhow!("{name}:{line}: {e}"))
                    }
                    None => Ok(None),
                }
            };
            let entry =
                ListEntry { id: row[id].trim().to_string(), started_at: date(started)?, ended_at: date(ended)? };
            if entry.id.is_empty() {
                bail!("{name}:{line}: the id is empty");
            }
            if entry.ended_at.is_some() && entry.started_at.is_none() {
                bail!("{name}:{line}: an end without a start");
            }
            if let (Some(start), Some(end)) = (entry.started_at, entry.ended_at) {
                if end < start {
                    bail!("{name}:{line}: the end is before the start");
                }
            }
            entries.push(entry);
        }
    } else {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            entries.push(ListEntry { id: line.to_string(), started_at: None, ended_at: None });
        }
    }
    let mut seen = HashSet::new();
    entries.retain(|e| seen.insert(e.id.clone()));
    Ok(entries)
}

/// Reads caller attributes (CSV with the header `uniqueId,kind,value,allocated_at`, any order),
/// grouped by unique id in file order. Kinds are the record format's (`dtmf`, `dnid`,
/// `callReturnNumber`, `callerId`, `historySearchId`) or the Unique ID method's (`callReturn`,
/// `clickToCall`).
pub fn read_attributes(path: &Path) -> anyhow::Result<HashMap<String, Vec<CallerAttribute>>> {
    let name = path.display();
    let table = Table::parse(&read_text(path)?).map_err(|e| anyhow!("{name}: {e}"))?;
    let column = |names: &[&str]| {
        table.column(names).ok_or_else(|| anyhow!("{name}: the header must name uniqueId, kind, value, allocated_at"))
    };
    let (id, kind, value, at) = (
        column(&UNIQUE_ID_COLUMNS)?,
        column(&["kind", "attributekind", "type"])?,
        column(&["value", "attributevalue"])?,
        column(&["allocatedat", "allocated", "at"])?,
    );
    let mut by_id: HashMap<String, Vec<CallerAttribute>> = HashMap::new();
    for (line, row) in &table.rows {
        let kind_text = row[kind].trim();
        let kind = CallerAttributeKind::parse(kind_text)
            .or_else(|| CallerAttributeKind::from_unique_id_segment(kind_text))
            .ok_or_else(|| anyhow!("{name}:{line}: unknown caller-attribute kind `{kind_text}`"))?;
        let allocated_at = Millis::parse_rfc3339(row[at].trim()).map_err(|e| anyhow!("{name}:{line}: {e}"))?;
        let attribute = CallerAttribute { kind, value: row[value].clone(), allocated_at: IsoDate(allocated_at) };
        attribute.validate("").map_err(|e| anyhow!("{name}:{line}: {e}"))?;
        let unique_id = row[id].trim();
        if unique_id.is_empty() {
            bail!("{name}:{line}: the unique id is empty");
        }
        by_id.entry(unique_id.to_string()).or_default().push(attribute);
    }
    Ok(by_id)
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// A header name as compared: lower case, letters and digits only.
fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// A CSV file: its header (normalized) and its rows with the line each starts on.
struct Table {
    columns: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut records = parse_csv(text)?.into_iter();
        let (_, header) = records.next().ok_or_else(|| anyhow!("the file is empty"))?;
        let columns: Vec<String> = header.iter().map(|h| normalize(h)).collect();
        let mut rows = Vec::new();
        for (line, mut row) in records {
            if row.len() > columns.len() {
                bail!("line {line}: {} fields, the header has {}", row.len(), columns.len());
            }
            row.resize(columns.len(), String::new());
            rows.push((line, row));
        }
        Ok(Self { columns, rows })
    }

    /// The first of `names` the header has.
    fn column(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|name| self.columns.iter().position(|c| c == name))
    }
}

/// RFC 4180 CSV: fields separated by `,`, records by LF or CRLF, quoted fields may hold `,`,
/// line breaks and `""` for a quote. Blank lines are skipped. Each record comes with its line.
fn parse_csv(text: &str) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut line, mut record_line) = (1, 1);
    let (mut quoted, mut was_quoted) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() && !was_quoted => (quoted, was_quoted) = (true, true),
            '"' => bail!("line {line}: a quote inside an unquoted field"),
            '\n' if quoted => {
                line += 1;
                field.push('\n');
            }
            ',' if !quoted => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                let blank = record.len() == 1 && record[0].is_empty() && !was_quoted;
                let done = std::mem::take(&mut record);
                if !blank {
                    records.push((record_line, done));
                }
                was_quoted = false;
                line += 1;
                record_line = line;
            }
            c if was_quoted && !quoted => bail!("line {line}: `{c}` after a closing quote"),
            c => field.push(c),
        }
    }
    if quoted {
        bail!("line {record_line}: a quoted field is not closed");
    }
    if !field.is_empty() || !record.is_empty() || was_quoted {
        record.push(field);
        records.push((record_line, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn ids(text: &str) -> anyhow::Result<Vec<ListEntry>> {
        read_list(file(text).path(), &UNIQUE_ID_COLUMNS)
    }

    #[test]
    fn csv_fields_quotes_and_line_breaks() {
        let got = parse_csv("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"multi\nline\",\n").unwrap();
        assert_eq!(
            got,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["x, y".to_string(), "say \"hi\"".to_string()]),
                (4, vec!["multi\nline".to_string(), String::new()]),
            ]
        );
        assert_eq!(parse_csv("a,b").unwrap(), vec![(1, vec!["a".to_string(), "b".to_string()])], "no final newline");
        assert!(parse_csv("\"open\n").is_err());
        assert!(parse_csv("a\"b\n").is_err());
        assert!(parse_csv("\"a\"b\n").is_err());
    }

    #[test]
    fn ids_one_a_line_or_csv_with_dates() {
        let plain = ids("# export of 2026-11-20\n040100713\n\n 040100709 \n040100713\n").unwrap();
        assert_eq!(plain.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["040100713", "040100709"]);
        assert!(plain.iter().all(|e| e.started_at.is_none()));
        let header_only_column = ids("uniqueId\n040100713\n").unwrap();
        assert_eq!(header_only_column.len(), 1);
        let csv = ids("Unique_ID,Started At,ended_at\n040100713,2026-10-01T09:33:10Z,2026-10-01T09:34:04.140Z\nx,2026-10-01T09:33:10+02:00,\n").unwrap();
        assert_eq!(csv[0].started_at.unwrap().0.to_iso_millis(), "2026-10-01T09:33:10.000Z");
        assert_eq!(csv[0].ended_at.unwrap().0.to_iso_millis(), "2026-10-01T09:34:04.140Z");
        assert_eq!(csv[1].started_at.unwrap().0.to_iso_millis(), "2026-10-01T07:33:10.000Z");
        assert_eq!(csv[1].ended_at, None);
    }

    #[test]
    fn bad_lists_name_file_and_line() {
        for (text, needle) in [
            ("name,other\nx,y\n", "no id column"),
            ("uniqueId,started_at\nx,yesterday\n", ":2:"),
            ("uniqueId,started_at,ended_at\nx,,2026-10-01T09:33:10Z\n", "an end without a start"),
            ("uniqueId,started_at,ended_at\nx,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z\n", "before the start"),
            ("uniqueId,other\n,y\n", "the id is empty"),
            ("uniqueId\na,b\n", "2 fields"),
        ] {
            let e = ids(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn attributes_by_id_in_file_order() {
        let f = file("uniqueId,kind,value,allocated_at\n040100713,dtmf,4567,2026-10-01T09:33:12Z\n040100709,clickToCall,+15551234567,2026-10-01T09:33:12Z\n040100713,historySearchId,\"a,b\",2026-10-01T09:33:13Z\n");
        let got = read_attributes(f.path()).unwrap();
        let first = &got["040100713"];
        assert_eq!(first.len(), 2);
        assert_eq!((first[0].kind, first[0].value.as_str()), (CallerAttributeKind::Dtmf, "4567"));
        assert_eq!((first[1].kind, first[1].value.as_str()), (CallerAttributeKind::HistorySearchId, "a,b"));
        assert_eq!(got["040100709"][0].kind, CallerAttributeKind::CallerId);
        for (text, needle) in [
            ("uniqueId,kind,value\nx,dtmf,1\n", "allocated_at"),
            ("uniqueId,kind,value,allocated_at\nx,pin,1,2026-10-01T09:33:12Z\n", "unknown caller-attribute kind `pin`"),
            ("uniqueId,kind,value,allocated_at\nx,dtmf,,2026-10-01T09:33:12Z\n", ":2: value"),
            ("uniqueId,kind,value,allocated_at\nx,dtmf,1,later\n", ":2:"),
        ] {
            let e = read_attributes(file(text).path()).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
