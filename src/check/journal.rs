//! The journal: every repository the harness creates is written down before it is created,
//! so `ecr-contract cleanup` can remove what a crashed run left, and nothing else.
//!
//! Runs journal by default in the user's state directory ([`Journal::for_this_run`]), never
//! in the working directory; a run that deletes everything it created leaves no file behind.
//!
//! A journal has one owner at a time, a [`HeldJournal`]: it holds an exclusive advisory lock
//! on the file for as long as it lives (a run's whole life, or `cleanup` while it works), so
//! `cleanup` leaves the journal of a live run alone. When the owner dies, the system releases
//! the lock and the entries stay for `cleanup`. Appends are synced when the owner asks for
//! durability; every rewrite goes through a temporary file renamed over the journal, so a
//! crash at any point leaves the old journal or the new one, never a part of one.
//! No I/O beyond the journal's file, its temporary file and their directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

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

impl Entry {
    fn line(&self) -> String {
        format!("{}\t{}\t{}\n", self.endpoint, self.region, self.repository)
    }
}

/// A list of created repositories, one tab-separated line each, at a path: what anyone may
/// read. Writing needs the lock: [`Journal::hold`].
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal at `path`.
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
        state_dir_of(
            std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }

    /// The journal of a run starting now, where `cleanup` looks without arguments: a file of
    /// its own in [`Journal::state_dir`]. The one place the default is decided, for the CLI
    /// and for [`Suite`](crate::Suite) alike.
    pub fn for_this_run() -> Option<Self> {
        Self::state_dir().map(|dir| Self::for_run(&dir))
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

    /// The journals runs left in `dir` (none when it does not exist), oldest first; live runs'
    /// too: [`Journal::hold`] tells them apart.
    pub fn left_in(dir: &Path) -> io::Result<Vec<Self>> {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
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

    /// Every entry (none when there is no file).
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
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

    /// Takes the journal's lock, creating the file (and its directory) when there is none:
    /// `None` when another owner holds it (a live run, or a `cleanup`), or replaced or
    /// removed it while this one was taking it.
    pub fn hold(&self) -> io::Result<Option<HeldJournal>> {
        if let Some(dir) = parent(&self.path) {
            std::fs::create_dir_all(dir)?;
        }
        let opened = OpenOptions::new().append(true).open(&self.path);
        let file = match opened {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .open(&self.path)
                {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
                    created => created?,
                }
            }
            opened => opened?,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        // The owner before this one may have renamed a new file over the path, or removed
        // it, between the open and the lock: the lock is then on a file nobody reads.
        match std::fs::metadata(&self.path) {
            Ok(now) if same_file(&now, &file.metadata()?) => {}
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(None),
        }
        Ok(Some(HeldJournal {
            journal: self.clone(),
            prefix: None,
            durable: true,
            file: Mutex::new(Some(file)),
        }))
    }
}

/// The state directory from the values of `XDG_STATE_HOME` and `HOME`.
fn state_dir_of(xdg_state_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let absolute = |p: Option<PathBuf>| p.filter(|p| p.is_absolute());
    absolute(xdg_state_home)
        .or_else(|| absolute(home).map(|home| home.join(".local/state")))
        .map(|dir| dir.join("ecr-contract"))
}

/// A journal this process owns: its lock is held until this is dropped (or the process
/// ends, however it ends).
#[derive(Debug)]
pub struct HeldJournal {
    journal: Journal,
    /// Names recorded must start with `<prefix>/`.
    prefix: Option<String>,
    /// Whether each write is synced to disk before it returns.
    durable: bool,
    /// The locked file at the path; `None` once an empty journal was removed.
    file: Mutex<Option<File>>,
}

impl HeldJournal {
    /// Refuses to record a repository not under `<prefix>/`: a run journals only its own.
    pub fn under_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Whether writes wait until they are on disk, to survive a crash of the machine, not
    /// only of the process (default `true`).
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.journal.path()
    }

    /// Every entry.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        self.journal.entries()
    }

    /// Writes `entry` down before the repository is created, so that a run that dies (Ctrl-C,
    /// a panic, `--max-seconds`) leaves every repository it may have created in the journal.
    /// An error for a repository outside the prefix: the harness never creates one.
    pub fn record(&self, entry: &Entry) -> io::Result<()> {
        if let Some(prefix) = &self.prefix
            && !entry
                .repository
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{:?} is not under the run's prefix {prefix}/: not journalled, not created",
                    entry.repository
                ),
            ));
        }
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        match file.as_mut() {
            Some(open) => {
                open.write_all(entry.line().as_bytes())?;
                match self.durable {
                    true => open.sync_data(),
                    false => Ok(()),
                }
            }
            None => self.replace(&mut file, std::slice::from_ref(entry)),
        }
    }

    /// Forgets `removed` entries (the repositories are gone, or were never created), one
    /// line for each, deleting the file when none is left.
    pub fn forget(&self, removed: &[Entry]) -> io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let mut left = self.journal.entries()?;
        for gone in removed {
            if let Some(at) = left.iter().rposition(|e| e == gone) {
                left.remove(at);
            }
        }
        if !left.is_empty() {
            return self.replace(&mut file, &left);
        }
        if file.is_some() {
            remove_if_there(self.path())?;
            remove_if_there(&self.temporary())?;
            self.sync_dir()?;
        }
        // The lock stays on the removed file until this is dropped: a later record creates
        // the journal again, locked before it appears.
        *file = None;
        Ok(())
    }

    /// Replaces the journal by `entries`: a temporary file in the same directory, locked,
    /// written and synced, renamed over the journal, then the directory synced. A crash
    /// before the rename leaves the journal whole (and a temporary file nobody reads).
    fn replace(&self, file: &mut Option<File>, entries: &[Entry]) -> io::Result<()> {
        let temporary = self.temporary();
        // Only the lock's holder writes the temporary file: what is there, a crash left.
        remove_if_there(&temporary)?;
        let mut fresh = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&temporary)?;
        fresh.lock()?;
        let text: String = entries.iter().map(Entry::line).collect();
        fresh.write_all(text.as_bytes())?;
        if self.durable {
            fresh.sync_all()?;
        }
        std::fs::rename(&temporary, self.path())?;
        self.sync_dir()?;
        *file = Some(fresh);
        Ok(())
    }

    /// `<journal>.tmp`, beside it: not a name [`Journal::left_in`] lists.
    fn temporary(&self) -> PathBuf {
        let mut name = self.path().as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    }

    fn sync_dir(&self) -> io::Result<()> {
        match (self.durable, parent(self.path())) {
            (true, Some(dir)) => File::open(dir)?.sync_all(),
            (true, None) => File::open(".")?.sync_all(),
            (false, _) => Ok(()),
        }
    }
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether two metadata describe the same file (not two files at one path in turn).
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Elsewhere std tells no file's identity: the lock alone decides.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_is_xdg_state_home_when_absolute_else_under_home() {
        let (xdg, home) = (PathBuf::from("/x/state"), PathBuf::from("/h"));
        assert_eq!(
            state_dir_of(Some(xdg.clone()), Some(home.clone())),
            Some(xdg.join("ecr-contract"))
        );
        assert_eq!(
            state_dir_of(Some("relative".into()), Some(home.clone())),
            Some(home.join(".local/state/ecr-contract"))
        );
        assert_eq!(
            state_dir_of(None, Some(home.clone())),
            Some(home.join(".local/state/ecr-contract"))
        );
        assert_eq!(state_dir_of(None, Some("relative".into())), None);
        assert_eq!(state_dir_of(None, None), None);
    }
}
