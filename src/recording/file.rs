//! A recording on disk: `recording.json`, `exchanges.jsonl` and `bodies/<sha256>.gz`. Reading
//! one is bounded (a recording may come from anyone): at most [`MAX_LINES_BYTES`] of lines and
//! [`MAX_BODY_BYTES`] for one body once decompressed.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Answer, INLINE_BODY_BYTES, Meta, Recorded, Recording, Request};

/// The most `exchanges.jsonl` may hold.
pub const MAX_LINES_BYTES: u64 = 512 * 1024 * 1024;
/// The most one body may hold, decompressed (a little over ECR's largest answer).
pub const MAX_BODY_BYTES: u64 = 1024 * 1024 * 1024;

/// Why a recording could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A file is not what a recording holds.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordingError + '_ {
    move |source| RecordingError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn malformed(path: &Path, reason: impl ToString) -> RecordingError {
    RecordingError::Malformed {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

#[derive(Serialize, Deserialize)]
struct Line {
    request: LineRequest,
    answer: LineAnswer,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "snake_case")]
enum LineRequest {
    Aws {
        operation: String,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        signed: bool,
        body: Body,
    },
    Registry {
        method: String,
        path: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
    },
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Serialize, Deserialize)]
struct LineAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<f64>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

/// A body in a line: text as it is, other bytes in base64, large ones by digest.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Body {
    Text(String),
    Base64(String),
    File(String),
}

struct Bodies {
    dir: PathBuf,
}

impl Bodies {
    fn put(&self, bytes: &[u8]) -> Result<Body, RecordingError> {
        if bytes.len() > INLINE_BODY_BYTES {
            let digest = hex(&Sha256::digest(bytes));
            let path = self.dir.join(format!("{digest}.gz"));
            if !path.exists() {
                std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
                let file = std::fs::File::create(&path).map_err(io(&path))?;
                let mut gz = flate2::GzBuilder::new().write(file, flate2::Compression::default());
                gz.write_all(bytes).map_err(io(&path))?;
                gz.finish().map_err(io(&path))?;
            }
            return Ok(Body::File(digest));
        }
        Ok(match std::str::from_utf8(bytes) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(_) => Body::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        })
    }

    fn get(&self, body: Body) -> Result<Vec<u8>, RecordingError> {
        match body {
            Body::Text(text) => Ok(text.into_bytes()),
            Body::Base64(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| malformed(&self.dir, format!("a base64 body: {e}"))),
            Body::File(digest) => {
                if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(malformed(
                        &self.dir,
                        format!("not a body's digest: {digest:?}"),
                    ));
                }
                read_body(
                    &self.dir.join(format!("{digest}.gz")),
                    &digest,
                    MAX_BODY_BYTES,
                )
            }
        }
    }
}

/// The body compressed at `path`, at most `limit` bytes once decompressed, whose sha256 is
/// `digest`.
fn read_body(path: &Path, digest: &str, limit: u64) -> Result<Vec<u8>, RecordingError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > limit {
        return Err(malformed(path, format!("a body over {limit} bytes")));
    }
    if hex(&Sha256::digest(&bytes)) != digest {
        return Err(malformed(path, "not the body its name is the digest of"));
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn save(recording: &Recording, dir: &Path) -> Result<(), RecordingError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let bodies = Bodies {
        dir: dir.join("bodies"),
    };
    remove_own_bodies(&bodies.dir)?;
    let meta_path = dir.join("recording.json");
    let mut meta =
        serde_json::to_vec_pretty(&recording.meta).map_err(|e| malformed(&meta_path, e))?;
    meta.push(b'\n');
    std::fs::write(&meta_path, meta).map_err(io(&meta_path))?;
    let lines_path = dir.join("exchanges.jsonl");
    let mut lines = Vec::new();
    for recorded in &recording.exchanges {
        let request = match &recorded.request {
            Request::Aws {
                operation,
                signed,
                body,
            } => LineRequest::Aws {
                operation: operation.clone(),
                signed: *signed,
                body: bodies.put(body)?,
            },
            Request::Registry {
                method,
                path,
                headers,
            } => LineRequest::Registry {
                method: method.clone(),
                path: path.clone(),
                headers: headers.clone(),
            },
        };
        let answer = LineAnswer {
            clock: recorded.answer.clock,
            status: recorded.answer.status,
            headers: recorded.answer.headers.clone(),
            body: bodies.put(&recorded.answer.body)?,
        };
        serde_json::to_writer(&mut lines, &Line { request, answer })
            .map_err(|e| malformed(&lines_path, e))?;
        lines.push(b'\n');
    }
    std::fs::write(&lines_path, lines).map_err(io(&lines_path))
}

/// Removes the bodies an earlier save wrote (files named `<sha256>.gz`), and nothing else.
fn remove_own_bodies(dir: &Path) -> Result<(), RecordingError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let own = name
            .strip_suffix(".gz")
            .is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
        if own {
            std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
        }
    }
    Ok(())
}

pub(super) fn load(dir: &Path) -> Result<Recording, RecordingError> {
    let meta_path = dir.join("recording.json");
    let meta = std::fs::read(&meta_path).map_err(io(&meta_path))?;
    let meta: Meta = serde_json::from_slice(&meta).map_err(|e| malformed(&meta_path, e))?;
    if meta.format != 1 {
        return Err(malformed(
            &meta_path,
            format!("format {} (this tool reads 1)", meta.format),
        ));
    }
    let bodies = Bodies {
        dir: dir.join("bodies"),
    };
    let lines_path = dir.join("exchanges.jsonl");
    let file = std::fs::File::open(&lines_path).map_err(io(&lines_path))?;
    let size = file.metadata().map_err(io(&lines_path))?.len();
    if size > MAX_LINES_BYTES {
        return Err(malformed(
            &lines_path,
            format!("{size} bytes, over {MAX_LINES_BYTES}"),
        ));
    }
    let mut exchanges = Vec::new();
    let reader = std::io::BufReader::new(file.take(MAX_LINES_BYTES));
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io(&lines_path))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: serde_json::Error| malformed(&lines_path, format!("line {}: {e}", n + 1));
        let line: Line = serde_json::from_str(&line).map_err(at)?;
        let request = match line.request {
            LineRequest::Aws {
                operation,
                signed,
                body,
            } => Request::Aws {
                operation,
                signed,
                body: bodies.get(body)?,
            },
            LineRequest::Registry {
                method,
                path,
                headers,
            } => Request::Registry {
                method,
                path,
                headers,
            },
        };
        let answer = Answer {
            clock: line.answer.clock,
            status: line.answer.status,
            headers: line.answer.headers,
            body: bodies.get(line.answer.body)?,
        };
        exchanges.push(Recorded { request, answer });
    }
    Ok(Recording { meta, exchanges })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressed(dir: &Path, bytes: &[u8]) -> (PathBuf, String) {
        let digest = hex(&Sha256::digest(bytes));
        let path = dir.join(format!("{digest}.gz"));
        let mut gz = flate2::GzBuilder::new().write(
            std::fs::File::create(&path).expect("created"),
            flate2::Compression::best(),
        );
        gz.write_all(bytes).expect("written");
        gz.finish().expect("finished");
        (path, digest)
    }

    #[test]
    fn a_body_is_read_only_within_its_bound_and_only_when_its_digest_holds() {
        let dir = std::env::temp_dir().join(format!("ecr-contract-bodies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a dir");
        // A small file that decompresses to far more than the bound is refused at the bound.
        let (bomb, digest) = compressed(&dir, &vec![0u8; 1 << 20]);
        assert!(std::fs::metadata(&bomb).expect("there").len() < 4096);
        let error = read_body(&bomb, &digest, 64 * 1024).expect_err("over the bound");
        assert!(error.to_string().contains("over 65536 bytes"), "{error}");
        assert_eq!(
            read_body(&bomb, &digest, 1 << 20).expect("within").len(),
            1 << 20
        );
        // A body that is not what its name says is refused.
        let (path, _) = compressed(&dir, b"answer");
        let other = hex(&Sha256::digest(b"another answer"));
        let error = read_body(&path, &other, 1024).expect_err("another digest");
        assert!(error.to_string().contains("digest"), "{error}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }

    #[test]
    fn exchanges_over_their_bound_are_refused_whole_not_cut() {
        let dir = std::env::temp_dir().join(format!("ecr-contract-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a dir");
        let meta = Meta {
            format: 1,
            tool_version: "0".into(),
            contract_version: "0".into(),
            seed: 1,
            cases: 0,
            prefix: "ecr-contract-00000000".into(),
            endpoint: "http://127.0.0.1:1/".into(),
            verdict: Default::default(),
            volatile: Vec::new(),
        };
        save(
            &Recording {
                meta,
                exchanges: Vec::new(),
            },
            &dir,
        )
        .expect("saved");
        assert!(load(&dir).expect("read").exchanges.is_empty());
        // A sparse file: its length is over the bound without its bytes being written.
        let lines = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("exchanges.jsonl"))
            .expect("opened");
        lines.set_len(MAX_LINES_BYTES + 1).expect("grown");
        let error = load(&dir).expect_err("over the bound");
        assert!(error.to_string().contains("over"), "{error}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
