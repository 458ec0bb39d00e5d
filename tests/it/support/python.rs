//! The Python tools (boto3, the AWS CLI, moto) pinned in `tests/clients/requirements.txt`:
//! the first test that needs them creates the virtual environment `target/py`, once per
//! checkout and again when the requirements change, under a file lock so that parallel test
//! threads and processes (`cargo nextest run`) never race. When `python3` or the package index
//! is unreachable the test fails saying so: it never skips.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The requirements the environment is built from.
const REQUIREMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/clients/requirements.txt"
);

/// The tools a ready environment has in `bin/`.
const TOOLS: [&str; 3] = ["python", "aws", "moto_server"];

/// A virtual environment built from a requirements file.
#[derive(Debug, Clone)]
pub struct Venv {
    /// Its folder (`bin/` inside).
    pub root: PathBuf,
    /// The requirements file it installs.
    pub requirements: PathBuf,
    /// The interpreter that creates it (`python3`).
    pub python: PathBuf,
}

impl Venv {
    /// The project's environment: `target/py` of this checkout, from the pinned requirements.
    pub fn project() -> Self {
        Self {
            root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/py")),
            requirements: PathBuf::from(REQUIREMENTS),
            python: PathBuf::from("python3"),
        }
    }

    /// Its `bin/` folder.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// The stamp: the SHA-256 of the requirements the environment was built from, written
    /// last, so that an interrupted build is never taken for a finished one.
    fn stamp(&self) -> PathBuf {
        self.root.join("ecr-contract-requirements.sha256")
    }

    /// The lock file, next to the environment (so removing `target/py` keeps it).
    fn lock_path(&self) -> PathBuf {
        self.root.with_extension("lock")
    }

    /// The SHA-256 of the requirements file, in hex.
    pub fn requirements_hash(&self) -> Result<String, String> {
        let text = std::fs::read(&self.requirements)
            .map_err(|e| format!("reading {}: {e}", self.requirements.display()))?;
        Ok(format!("{:x}", Sha256::digest(text)))
    }

    /// Whether the environment is built, from requirements whose hash is `hash`.
    pub fn is_fresh(&self, hash: &str) -> bool {
        let stamped = std::fs::read_to_string(self.stamp()).unwrap_or_default();
        stamped.trim() == hash && TOOLS.iter().all(|t| self.bin().join(t).exists())
    }

    /// Builds the environment unless it is fresh, holding the lock while it checks and builds:
    /// of several provisioners at once, one builds and the others wait and find it fresh.
    pub fn ensure(&self) -> Result<PathBuf, String> {
        let hash = self.requirements_hash()?;
        if self.is_fresh(&hash) {
            return Ok(self.bin());
        }
        let lock_path = self.lock_path();
        if let Some(dir) = lock_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let lock = File::create(&lock_path)
            .map_err(|e| format!("creating {}: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
        // Another provisioner may have finished while this one waited.
        let built = match self.is_fresh(&hash) {
            true => Ok(()),
            false => self.build(&hash),
        };
        drop(lock);
        built.map(|()| self.bin())
    }

    fn build(&self, hash: &str) -> Result<(), String> {
        let _ = std::fs::remove_file(self.stamp());
        if !self.bin().join("python").exists() {
            let created = Command::new(&self.python)
                .args(["-m", "venv"])
                .arg(&self.root)
                .output()
                .map_err(|e| {
                    format!(
                        "{} not found ({e}): the client and peer tests need Python 3 with venv \
                         (Debian/Ubuntu: apt-get install python3 python3-venv)",
                        self.python.display()
                    )
                })?;
            // A half-made environment (no pip, say) is removed, so the next attempt starts over.
            succeeded(&created, "creating the virtual environment", &self.root)
                .inspect_err(|_| drop(std::fs::remove_dir_all(&self.root)))?;
        }
        let installed = Command::new(self.bin().join("python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(&self.requirements)
            .output()
            .map_err(|e| format!("running pip in {}: {e}", self.root.display()))?;
        succeeded(
            &installed,
            "installing the requirements (is the package index reachable? pip's own settings apply: PIP_INDEX_URL, PIP_FIND_LINKS)",
            &self.root,
        )?;
        let missing: Vec<String> = TOOLS
            .iter()
            .map(|t| self.bin().join(t))
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} did not provide {}",
                self.requirements.display(),
                missing.join(", ")
            ));
        }
        let stamp = self.stamp();
        let partial = stamp.with_extension("partial");
        std::fs::write(&partial, hash)
            .and_then(|()| std::fs::rename(&partial, &stamp))
            .map_err(|e| format!("writing {}: {e}", stamp.display()))
    }
}

/// `Ok` when `output` is a success, else what it printed, for the step `what` in `root`.
fn succeeded(output: &Output, what: &str, root: &Path) -> Result<(), String> {
    if output.status.success() {
        return Ok(());
    }
    let printed = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = printed.lines().rev().take(15).collect();
    Err(format!(
        "{what} in {} failed ({}):\n{}",
        root.display(),
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// The project environment's `bin/` folder, built first if needed (`ECR_CONTRACT_PY` names
/// another environment, used as it is). Fails the test with the reason otherwise.
pub fn bin() -> PathBuf {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let ready = READY.get_or_init(|| match std::env::var_os("ECR_CONTRACT_PY") {
        Some(root) => given(Path::new(&root)),
        None => Venv::project().ensure(),
    });
    match ready {
        Ok(bin) => bin.clone(),
        Err(e) => panic!("the client and peer tests need boto3, the AWS CLI and moto: {e}"),
    }
}

/// An environment named by `ECR_CONTRACT_PY`, which must already have the tools.
fn given(root: &Path) -> Result<PathBuf, String> {
    let bin = root.join("bin");
    match TOOLS.iter().map(|t| bin.join(t)).find(|p| !p.exists()) {
        None => Ok(bin),
        Some(missing) => Err(format!(
            "{} is missing (ECR_CONTRACT_PY={}): install {REQUIREMENTS} there, or unset \
             ECR_CONTRACT_PY to let the tests build target/py",
            missing.display(),
            root.display()
        )),
    }
}

/// Runs `tests/clients/ecr_clients.py` against `url` with `args`, with credentials `key`/`secret`.
pub fn run_client_tests(url: &str, args: &[&str], key: &str, secret: &str) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/ecr_clients.py");
    Command::new(bin().join("python"))
        .arg(script)
        .arg(url)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("python runs")
}
