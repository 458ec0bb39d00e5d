//! The journal: every repository the harness creates is written down before it is created,
//! so `ecr-contract cleanup` can remove what a crashed run left, and nothing else.
//!
//! The CLI gives each run a journal of its own in the user's state directory
//! ([`Journal::state_dir`]), never in the working directory; a run that deletes everything it
//! created leaves no file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// One created repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The endpoint URL.
    pub endpoint: String,
    /// The region.
    pub region: String,
    /// The repository.
    pub repository: String,
}

/// An append-only list of created repositories, one tab-separated line each.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where runs journal by default: `$XDG_STATE_HOME/ecr-contract`, or
    /// `~/.local/state/ecr-contract` when `XDG_STATE_HOME` is unset or not absolute (as the XDG
    /// base directory specification says). `None` without a home directory either.
    pub fn state_dir() -> Option<PathBuf> {
        let absolute = |name| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        absolute("XDG_STATE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".local/state")))
            .map(|dir| dir.join("ecr-contract"))
    }

    /// A journal of its own for a run starting now, in `dir`:
    /// `journal-<seconds>-<pid>-<nanoseconds>.tsv`.
    pub fn for_run(dir: &Path) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self::new(dir.join(format!(
            "journal-{}-{}-{:09}.tsv",
            now.as_secs(),
            std::process::id(),
            now.subsec_nanos()
        )))
    }

    /// The journals earlier runs left in `dir` (none when it does not exist), oldest first.
    pub fn left_in(dir: &Path) -> std::io::Result<Vec<Self>> {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut paths = Vec::new();
        for entry in listing {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with("journal-") && name.ends_with(".tsv") {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths.into_iter().map(Self::new).collect())
    }

    /// Writes `entry` down before the repository is created, so that a run that dies (Ctrl-C,
    /// a panic, `--max-seconds`) leaves every repository it created in the journal. With
    /// `sync`, also waits until the entry is on disk, to survive a crash of the machine.
    pub fn record(&self, entry: &Entry, sync: bool) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(
            file,
            "{}\t{}\t{}",
            entry.endpoint, entry.region, entry.repository
        )?;
        match sync {
            true => file.sync_data(),
            false => Ok(()),
        }
    }

    /// Every entry.
    pub fn entries(&self) -> std::io::Result<Vec<Entry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '\t');
                Some(Entry {
                    endpoint: parts.next()?.into(),
                    region: parts.next()?.into(),
                    repository: parts.next()?.into(),
                })
            })
            .collect())
    }

    /// Forgets `removed` entries (the repositories are gone), deleting the file when empty.
    pub fn forget(&self, removed: &[Entry]) -> std::io::Result<()> {
        let left: Vec<Entry> = self
            .entries()?
            .into_iter()
            .filter(|e| !removed.contains(e))
            .collect();
        if left.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let text: String = left
            .iter()
            .map(|e| format!("{}\t{}\t{}\n", e.endpoint, e.region, e.repository))
            .collect();
        std::fs::write(&self.path, text)
    }
}
