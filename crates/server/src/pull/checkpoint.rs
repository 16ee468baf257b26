//! What a pull has stored, kept in a file so that a rerun skips it, and what it could not pull,
//! with the reason, in another.
//!
//! The checkpoint's first line says which pull it belongs to (kind, tenant, environment, target
//! database, options that shape the records); a rerun of another pull refuses it rather than
//! skip what it never stored. Then one key a line (JSON strings, so any id fits), appended after
//! the transaction that stored the item committed: a key is never written for something not
//! stored whole. A line cut short by a crash is ignored (that item is pulled again, which is safe:
//! storing a record twice leaves the store as after once).

use anyhow::{anyhow, bail};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &str = "# ixgw pull checkpoint v1:";

pub struct Checkpoint {
    path: PathBuf,
    file: std::fs::File,
    done: HashSet<String>,
}

impl Checkpoint {
    /// Opens the checkpoint of the pull described by `header`; `fresh`: start over (`--force`).
    pub fn open(path: &Path, header: &str, fresh: bool) -> anyhow::Result<Self> {
        let first_line = format!("{MAGIC} {header}");
        let mut done = HashSet::new();
        let existing = if fresh { None } else { std::fs::read_to_string(path).ok() };
        let file = match existing.filter(|text| !text.is_empty()) {
            Some(text) => {
                let mut lines = text.split_inclusive('\n');
                let found = lines.next().unwrap_or_default().trim_end();
                if found != first_line {
                    bail!(
                        "{} is the checkpoint of another pull ({}); pass --force to start over, or another --checkpoint",
                        path.display(),
                        found.strip_prefix(MAGIC).map_or("not a checkpoint", str::trim)
                    );
                }
                // The last line may be cut short by a crash: only whole lines count.
                done.extend(lines.filter_map(|l| l.strip_suffix('\n')).filter_map(|l| serde_json::from_str(l).ok()));
                let mut file = std::fs::OpenOptions::new().append(true).open(path).map_err(|e| cannot(path, e))?;
                if !text.ends_with('\n') {
                    file.write_all(b"\n").map_err(|e| cannot(path, e))?;
                }
                file
            }
            None => {
                let mut file = std::fs::File::create(path).map_err(|e| cannot(path, e))?;
                writeln!(file, "{first_line}").map_err(|e| cannot(path, e))?;
                file
            }
        };
        Ok(Self { path: path.to_path_buf(), file, done })
    }

    pub fn contains(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    /// Notes `keys` as stored, with one write.
    pub fn record(&mut self, keys: &[String]) -> anyhow::Result<()> {
        let mut lines = String::new();
        for key in keys {
            lines.push_str(&serde_json::to_string(key).expect("a string serializes"));
            lines.push('\n');
        }
        self.file.write_all(lines.as_bytes()).map_err(|e| cannot(&self.path, e))?;
        self.done.extend(keys.iter().cloned());
        Ok(())
    }
}

fn cannot(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow!("cannot write the checkpoint {}: {e}", path.display())
}

/// What could not be pulled: `kind,id,reason` (CSV), one row per item.
#[derive(Debug, Default)]
pub struct Failures {
    pub rows: Vec<(&'static str, String, String)>,
}

impl Failures {
    pub fn add(&mut self, kind: &'static str, id: &str, reason: &str) {
        self.rows.push((kind, id.to_string(), reason.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the file if anything failed, else removes the one an earlier run left.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(anyhow!("cannot remove {}: {e}", path.display()))
                }
                _ => Ok(()),
            };
        }
        let mut text = String::from("kind,id,reason\n");
        for (kind, id, reason) in &self.rows {
            text.push_str(&format!("{kind},{},{}\n", csv_field(id), csv_field(reason)));
        }
        std::fs::write(path, text).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_rerun_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.checkpoint");
        let mut c = Checkpoint::open(&path, "interact tenant=1", false).unwrap();
        c.record(&["a".into(), "b,\"c\"\n".into()]).unwrap();
        drop(c);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"\"torn").unwrap();
        let mut c = Checkpoint::open(&path, "interact tenant=1", false).unwrap();
        assert!(c.contains("a") && c.contains("b,\"c\"\n") && !c.contains("torn"));
        c.record(&["d".into()]).unwrap();
        drop(c);
        let c = Checkpoint::open(&path, "interact tenant=1", false).unwrap();
        assert!(c.contains("d") && c.contains("a"), "a line after a torn one counts");
        let e = Checkpoint::open(&path, "interact tenant=2", false).err().unwrap().to_string();
        assert!(e.contains("another pull (interact tenant=1)") && e.contains("--force"), "{e}");
        let c = Checkpoint::open(&path, "interact tenant=2", true).unwrap();
        assert!(!c.contains("a"), "--force starts over");
    }

    #[test]
    fn failures_are_csv_and_a_clean_run_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.csv");
        let mut f = Failures::default();
        f.add("interaction", "x,1", "the source answered 404 (`history for UUID \"x\" was not found`)");
        f.write(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "kind,id,reason\ninteraction,\"x,1\",\"the source answered 404 (`history for UUID \"\"x\"\" was not found`)\"\n"
        );
        Failures::default().write(&path).unwrap();
        assert!(!path.exists());
        Failures::default().write(&path).unwrap();
    }
}
