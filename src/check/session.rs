//! One run's conversation with the server: seeding under the run prefix, sending probes,
//! judging answers with a model mirror of the server's state, cleaning up.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::model::{Call, Expected, ImageDigest, Registry, RegistryId, batch_get_image_body};
use crate::oracle::{
    Observed, RuleId, Violation, check, check_in, check_put_digest, check_put_refusal,
};
use crate::report::{Finding, Reproduction, Response, SetupDivergence};
use crate::strategy::manifests::Blob;
use crate::strategy::{Fixture, fixture, generated_blobs};
use crate::target::{Exchange, HttpTarget, TransportError};
use crate::wire::{self, Operation, Reply};

use super::journal::{Entry, Journal};

/// Why a run could not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The endpoint could not be reached.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The run must not go ahead: writes to an endpoint off this machine without leave, or
    /// no credentials for it.
    #[error("{0}")]
    Refused(String),
    /// Seeding failed in a way the harness cannot adapt to.
    #[error("setup impossible: {0}")]
    Setup(String),
    /// The journal could not be written.
    #[error("journal: {0}")]
    Journal(#[from] std::io::Error),
}

/// Rules every judged answer exercises, whatever the probe: the model-free checks.
const WIRE_RULES: [RuleId; 5] = [
    RuleId::WireStatus,
    RuleId::WireContentType,
    RuleId::WireShape,
    RuleId::WireUnknownMember,
    RuleId::RobustNo5xx,
];
const SUCCESS_RULES: [RuleId; 3] = [
    RuleId::WireBothLists,
    RuleId::IdFailureCode,
    RuleId::IdFailureReason,
];
const ERROR_RULES: [RuleId; 3] = [
    RuleId::WireErrorCode,
    RuleId::WireErrorBodyType,
    RuleId::WireErrorMessage,
];

/// A run's state.
#[derive(Debug)]
pub struct Session<'t> {
    pub(crate) target: &'t HttpTarget,
    pub(crate) prefix: String,
    pub(crate) journal: Journal,
    pub(crate) fixture: Fixture,
    pub(crate) account: Option<RegistryId>,
    pub(crate) layer_api: Option<bool>,
    pub(crate) settle: Duration,
    pub(crate) created: Vec<Entry>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) exercised: BTreeSet<RuleId>,
    pub(crate) notes: Vec<String>,
    pub(crate) setup_divergences: Vec<SetupDivergence>,
    pub(crate) probes: usize,
    pub(crate) retries: u32,
    pub(crate) settle_needed: Duration,
    pub(crate) uploaded: std::collections::HashSet<(String, String)>,
    /// How PutImage digests are sent, after what the server showed (STATE-PUT-DIGEST).
    pub(crate) put_digests: PutDigests,
    /// How the server's last answer to a setup call differed from ECR's, if it did: the
    /// mirror then no longer holds what the server holds (see [`Session::take_divergence`]).
    divergence: Option<(String, String)>,
    /// Probes not judged because they name digests on a server whose digests the harness
    /// cannot know ([`PutDigests::ServerOwn`]).
    pub(crate) unjudged_by_digest: usize,
    /// The blobs the harness can upload, by digest (see [`known_blobs`]).
    known_blobs: std::collections::HashMap<String, Blob>,
}

impl<'t> Session<'t> {
    /// A session against `target`, creating repositories under `prefix`.
    pub fn new(target: &'t HttpTarget, prefix: String, journal: Journal, settle: Duration) -> Self {
        let fixture = fixture();
        Self {
            target,
            prefix,
            journal,
            known_blobs: known_blobs(&fixture),
            fixture,
            account: None,
            layer_api: None,
            settle,
            created: Vec::new(),
            findings: Vec::new(),
            exercised: BTreeSet::new(),
            notes: Vec::new(),
            setup_divergences: Vec::new(),
            probes: 0,
            retries: 0,
            settle_needed: Duration::ZERO,
            uploaded: std::collections::HashSet::new(),
            put_digests: PutDigests::Content,
            divergence: None,
            unjudged_by_digest: 0,
        }
    }

    /// The name of fixture repository `name` in `scope`.
    pub(crate) fn name(&self, scope: &str, name: &str) -> String {
        format!("{}/{scope}/{name}", self.prefix)
    }

    /// Sends a call's JSON input.
    pub(crate) async fn send(
        &mut self,
        operation: Operation,
        body: &Value,
    ) -> Result<Exchange, TransportError> {
        let exchange = self
            .target
            .send(operation, serde_json::to_vec(body).unwrap_or_default())
            .await?;
        self.retries += exchange.retries;
        Ok(exchange)
    }

    /// An empty model registry for the server's account.
    pub(crate) fn empty_mirror(&self) -> Result<Registry, CheckError> {
        let account = self
            .account
            .clone()
            .ok_or_else(|| CheckError::Setup("no account id learned".into()))?;
        Ok(Registry::new(account, self.target.region()))
    }

    /// Sends `call` (renamed into `scope`) and applies it to `mirror` when the server accepts
    /// it. Returns the server's answer, or its error code.
    pub(crate) async fn apply(
        &mut self,
        scope: &str,
        call: &Call,
        mirror: &mut Option<Registry>,
    ) -> Result<Result<Value, String>, CheckError> {
        let operation = call.operation();
        let mut input = serde_json::to_value(call).unwrap_or_default()["input"].take();
        self.rename(scope, &mut input);
        self.apply_input(operation, call, input, mirror).await
    }

    /// As [`Session::apply`], with the input already renamed.
    pub(crate) async fn apply_input(
        &mut self,
        operation: Operation,
        call: &Call,
        mut input: Value,
        mirror: &mut Option<Registry>,
    ) -> Result<Result<Value, String>, CheckError> {
        let unpinned = input.clone();
        if operation == Operation::PutImage && self.put_digests == PutDigests::Named {
            pin_digest(&mut input);
        }
        // The call as sent (renamed, digest pinned), for the mirror.
        let renamed = renamed_call(call, &input);
        if operation == Operation::CreateRepository {
            let repository = input["repositoryName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let entry = Entry {
                endpoint: self.target.url().to_owned(),
                region: self.target.region().to_owned(),
                repository,
            };
            // Synced to disk only for an endpoint off this machine: on loopback (the embedded
            // server, an emulator, mostly in memory) the sync took more than half of a run.
            self.journal.record(&entry, !self.target.is_loopback())?;
            self.created.push(entry);
        }
        if operation == Operation::PutImage && self.layer_api != Some(false) {
            self.upload_blobs(&input).await?;
        }
        let exchange = self.send(operation, &input).await?;
        let answer: Value = serde_json::from_slice(&exchange.body).unwrap_or(Value::Null);
        if exchange.status != 200 {
            let code = error_code(&exchange);
            if operation == Operation::PutImage
                && self.put_digests == PutDigests::Named
                && code == "ImageDigestDoesNotMatchException"
                && unpinned.get("imageDigest").is_none()
            {
                self.refused_true_digest(&input, &exchange);
                return Box::pin(self.apply_input(operation, call, unpinned, mirror)).await;
            }
            return Ok(Err(code));
        }
        if operation == Operation::CreateRepository && self.account.is_none() {
            let id = answer["repository"]["registryId"]
                .as_str()
                .unwrap_or_default();
            let account = RegistryId::parse(id).map_err(|_| {
                CheckError::Setup(format!("CreateRepository answered registryId {id:?}"))
            })?;
            self.account = Some(account);
        }
        if operation == Operation::PutImage {
            self.check_put_digest(&input, &answer, &exchange);
        }
        if mirror.is_none() {
            *mirror = Some(self.empty_mirror()?);
        }
        // Upload ids are the server's, which the mirror cannot know, and the mirror does not
        // require blobs: the layer upload is sent to it, never compared.
        let uploading = matches!(
            operation,
            Operation::InitiateLayerUpload
                | Operation::UploadLayerPart
                | Operation::CompleteLayerUpload
        );
        match (mirror.as_mut(), renamed) {
            (Some(mirror), Some(renamed)) => {
                let model = mirror.apply(&renamed, 0.0);
                if !uploading {
                    self.divergence = setup_difference(&model, &answer);
                }
            }
            _ => {
                self.divergence =
                    Some(("an answer the harness cannot read".into(), "success".into()))
            }
        }
        Ok(Ok(answer))
    }

    /// How the server's last accepted setup call differed from ECR's answer, as
    /// `(found, expected)`, if it did; the mirror then no longer holds what the server holds,
    /// so what is probed after it in the same scope cannot be judged.
    pub(crate) fn take_divergence(&mut self) -> Option<(String, String)> {
        self.divergence.take()
    }

    /// The server refused the manifest's own SHA-256 as `imageDigest`, after reporting another
    /// digest: STATE-PUT-DIGEST is broken twice over, and the harness can no longer address
    /// images by digest.
    fn refused_true_digest(&mut self, input: &Value, exchange: &Exchange) {
        self.put_digests = PutDigests::ServerOwn;
        for v in check_put_refusal(&error_code(exchange)) {
            self.record(
                v,
                "seeding: PutImage naming the manifest's SHA-256",
                exchange,
            );
        }
        let digest = input["imageDigest"].as_str().unwrap_or_default();
        self.notes.push(format!(
            "PutImage refused imageDigest {digest}, the manifest's SHA-256 (STATE-PUT-DIGEST): \
seeded without imageDigest from then on; probes that name a digest are not judged, since the \
server's digests are not the manifests' SHA-256"
        ));
    }

    /// Uploads, with the layer API, every blob a PutImage manifest names that the harness can
    /// produce and has not uploaded to that repository yet. A server without the layer API
    /// (HTTP 5xx or an unknown operation) is from then on seeded with PutImage alone.
    async fn upload_blobs(&mut self, put: &Value) -> Result<(), CheckError> {
        let repository = put["repositoryName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let contents = crate::model::manifest::Contents::parse(
            put["imageManifest"].as_str().unwrap_or_default(),
        )
        .unwrap_or_default();
        for digest in contents.blobs().map(str::to_owned).collect::<Vec<_>>() {
            let Some(blob) = self.known_blobs.get(&digest).cloned() else {
                continue;
            };
            if !self.uploaded.insert((repository.clone(), digest.clone())) {
                continue;
            }
            let start = self
                .send(
                    Operation::InitiateLayerUpload,
                    &serde_json::json!({"repositoryName": repository}),
                )
                .await?;
            if start.status != 200 {
                let code = error_code(&start);
                if self.layer_api.is_none()
                    && (start.status >= 500
                        || code.contains("UnknownOperation")
                        || code.contains("NotImplemented"))
                {
                    self.layer_api = Some(false);
                    self.notes.push(format!("the server has no layer upload API (InitiateLayerUpload answered {code}): seeded with PutImage alone; blob checks not exercised"));
                    return Ok(());
                }
                // An absent repository: the PutImage that follows is refused the same way.
                return Ok(());
            }
            self.layer_api = Some(true);
            let upload_id =
                serde_json::from_slice::<Value>(&start.body).unwrap_or_default()["uploadId"]
                    .clone();
            let part = serde_json::json!({"repositoryName": repository, "uploadId": upload_id, "partFirstByte": 0,
                "partLastByte": blob.size() - 1, "layerPartBlob": wire::Blob(blob.bytes.clone())});
            self.send(Operation::UploadLayerPart, &part).await?;
            let complete = serde_json::json!({"repositoryName": repository, "uploadId": upload_id, "layerDigests": [blob.digest]});
            let done = self.send(Operation::CompleteLayerUpload, &complete).await?;
            if done.status != 200 && error_code(&done) != "LayerAlreadyExistsException" {
                self.notes.push(format!(
                    "uploading {digest} to {repository}: CompleteLayerUpload answered {}",
                    error_code(&done)
                ));
            }
        }
        Ok(())
    }

    /// STATE-PUT-DIGEST, judged by the oracle; a server that reports digests of its own is
    /// told the digest from then on (see [`PutDigests`]).
    fn check_put_digest(&mut self, input: &Value, answer: &Value, exchange: &Exchange) {
        let manifest = input["imageManifest"].as_str().unwrap_or_default();
        let found = answer["image"]["imageId"]["imageDigest"].as_str();
        self.exercised.insert(RuleId::StatePutDigest);
        let violations = check_put_digest(manifest, found);
        if !violations.is_empty() && self.put_digests == PutDigests::Content {
            self.put_digests = PutDigests::Named;
            let want = ImageDigest::of(manifest.as_bytes());
            self.notes.push(format!(
                "PutImage reported {} for a manifest whose SHA-256 is {want} (STATE-PUT-DIGEST): \
every later PutImage names imageDigest, so that by-digest probes address the images pushed",
                found.unwrap_or("no digest")
            ));
        }
        // Once the harness no longer names digests, each push reports the server's own: the
        // refusal already said so.
        if self.put_digests != PutDigests::ServerOwn {
            for v in violations {
                self.record(v, "seeding: PutImage", exchange);
            }
        }
    }

    /// Renames fixture repositories in `value` into `scope`.
    pub(crate) fn rename(&self, scope: &str, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match (key.as_str(), v.as_str()) {
                        ("repositoryName", Some(name)) if self.is_fixture_name(name) => {
                            *v = Value::String(self.name(scope, name))
                        }
                        _ => self.rename(scope, v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rename(scope, v)),
            _ => {}
        }
    }

    fn is_fixture_name(&self, name: &str) -> bool {
        self.fixture.repositories.iter().any(|(n, _)| *n == name)
            || crate::strategy::REPOSITORIES.contains(&name)
    }

    /// Sends a BatchGetImage body, judges the answer against `mirror`, records findings; with
    /// a settle time, re-reads until the answer passes or the time is up.
    pub(crate) async fn probe(
        &mut self,
        probe: &str,
        mirror: &Registry,
        body: Vec<u8>,
        context: Option<RuleId>,
    ) -> Result<Vec<Violation>, CheckError> {
        if self.put_digests == PutDigests::ServerOwn && names_digest(&body) {
            self.unjudged_by_digest += 1;
            return Ok(vec![]);
        }
        let expected = batch_get_image_body(mirror, &body);
        let start = Instant::now();
        loop {
            let exchange = self
                .target
                .send(Operation::BatchGetImage, body.clone())
                .await?;
            self.retries += exchange.retries;
            let observed = Observed::from_http(exchange.status, &exchange.headers, &exchange.body);
            let violations = judge(&expected, &observed, context);
            if !violations.is_empty() && start.elapsed() < self.settle {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if violations.is_empty()
                && start.elapsed() > Duration::from_millis(1)
                && self.settle > Duration::ZERO
            {
                self.settle_needed = self.settle_needed.max(start.elapsed());
            }
            self.probes += 1;
            self.exercise(&observed);
            for v in &violations {
                self.record(v.clone(), probe, &exchange);
            }
            return Ok(violations);
        }
    }

    fn exercise(&mut self, observed: &Observed) {
        self.exercised.extend(WIRE_RULES);
        match &observed.reply {
            Ok(Reply::Success(_)) => self.exercised.extend(SUCCESS_RULES),
            Ok(Reply::Error(_)) => self.exercised.extend(ERROR_RULES),
            Err(_) => {}
        }
    }

    /// Records a finding with its exchange and reproduction.
    pub(crate) fn record(&mut self, violation: Violation, probe: &str, exchange: &Exchange) {
        let request = String::from_utf8_lossy(&exchange.request_body).into_owned();
        let body =
            String::from_utf8_lossy(&exchange.body[..exchange.body.len().min(4096)]).into_owned();
        let reproduction = Reproduction::new(
            self.target.url(),
            self.target.region(),
            exchange.operation.name(),
            &request,
        );
        self.findings.push(Finding {
            message: violation.to_string(),
            violation,
            probe: probe.to_owned(),
            request,
            response: Response {
                status: exchange.status,
                body,
            },
            reproduction,
        });
    }

    /// Deletes every repository this session created (force), and forgets them in the journal.
    pub(crate) async fn cleanup(&mut self, scope_prefix: Option<&str>) -> Result<(), CheckError> {
        let (mine, others): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.created)
            .into_iter()
            .partition(|e| scope_prefix.is_none_or(|p| e.repository.starts_with(p)));
        self.created = others;
        let mut removed = Vec::new();
        for entry in mine {
            let body = serde_json::json!({"repositoryName": entry.repository, "force": true});
            let exchange = self.send(Operation::DeleteRepository, &body).await?;
            let code = error_code(&exchange);
            if exchange.status == 200 || code == "RepositoryNotFoundException" {
                removed.push(entry);
            } else {
                self.notes.push(format!(
                    "could not delete {}: HTTP {} {code}",
                    entry.repository, exchange.status
                ));
            }
        }
        self.journal.forget(&removed)?;
        Ok(())
    }
}

/// The blobs the harness uploads before a push, by digest: the fixture's, the generators',
/// and those the contract cases name (`n1` to `n3`; not `b1` and `b2`: the case that shows
/// LayersNotFoundException uploads them itself, after pushing without them). The first of
/// equal digests wins.
fn known_blobs(fixture: &Fixture) -> std::collections::HashMap<String, Blob> {
    let named_by_cases = ["n1", "n2", "n3"].map(Blob::from_seed);
    let mut blobs = std::collections::HashMap::new();
    for blob in fixture
        .blobs
        .iter()
        .cloned()
        .chain(named_by_cases)
        .chain(generated_blobs())
    {
        blobs.entry(blob.digest.clone()).or_insert(blob);
    }
    blobs
}

fn judge(expected: &Expected, observed: &Observed, context: Option<RuleId>) -> Vec<Violation> {
    match context {
        Some(rule) => check_in(rule, expected, observed),
        None => check(expected, observed),
    }
}

/// The error name of a refused call.
pub(crate) fn error_code(exchange: &Exchange) -> String {
    match wire::parse_response::<wire::BatchGetImageResponse>(
        exchange.status,
        &exchange.headers,
        &exchange.body,
    ) {
        Ok(Reply::Error(e)) => e
            .code
            .unwrap_or_else(|| format!("HTTP {}", exchange.status)),
        _ => format!("HTTP {}", exchange.status),
    }
}

/// How PutImage digests are sent, after what the server showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutDigests {
    /// The server reports the manifest's SHA-256: nothing to adapt to.
    Content,
    /// It reported a digest of its own: every PutImage names the SHA-256 as `imageDigest`,
    /// which it honours, so that by-digest probes address the images pushed.
    Named,
    /// It reports digests of its own and refuses the SHA-256 when named: probes that name a
    /// digest cannot be judged, the others still are.
    ServerOwn,
}

/// Whether a BatchGetImage body names a digest.
fn names_digest(body: &[u8]) -> bool {
    body.windows(b"\"imageDigest\"".len())
        .any(|w| w == b"\"imageDigest\"")
}

/// How a server's 200 answer to a setup call differs from the model's, as
/// `(found, expected)`: the model refuses the call, or (BatchDeleteImage) it deletes or fails
/// other ids than the server did.
fn setup_difference(
    model: &Result<Value, crate::model::OpError>,
    server: &Value,
) -> Option<(String, String)> {
    match model {
        // The same manifest pushed again: refused or accepted, nothing changes (a may in the
        // spec without a tag; with a tag the contract case that probes it says so).
        Err(e) if e.code == "ImageAlreadyExistsException" => None,
        Err(e) => Some(("success".into(), e.code.to_owned())),
        Ok(model) => {
            // Codes only: how a failure echoes its id is ID-FAILURE-ECHO's, not the state's.
            let failures = |v: &Value| -> Vec<String> {
                let mut out: Vec<String> = v["failures"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|f| f["failureCode"].as_str().unwrap_or("no code").to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                out.sort();
                out
            };
            let (found, expected) = (failures(server), failures(model));
            (found != expected).then(|| {
                let show = |f: Vec<String>| match f.is_empty() {
                    true => "no failures".to_owned(),
                    false => format!("failures {}", f.join(", ")),
                };
                (show(found), show(expected))
            })
        }
    }
}

/// Names the manifest's SHA-256 as `imageDigest` in a PutImage input that names none.
fn pin_digest(input: &mut Value) {
    if input.get("imageDigest").is_none() {
        let manifest = input["imageManifest"].as_str().unwrap_or_default();
        input["imageDigest"] = Value::String(ImageDigest::of(manifest.as_bytes()).to_string());
    }
}

/// `call` with its input replaced by the renamed one.
fn renamed_call(call: &Call, input: &Value) -> Option<Call> {
    fn decode<T: wire::Decode>(input: &Value) -> Option<T> {
        Some(
            wire::decode_body(&serde_json::to_vec(input).ok()?)
                .ok()?
                .value,
        )
    }
    Some(match call {
        Call::CreateRepository(_) => Call::CreateRepository(decode(input)?),
        Call::InitiateLayerUpload(_) => Call::InitiateLayerUpload(decode(input)?),
        Call::UploadLayerPart(_) => Call::UploadLayerPart(decode(input)?),
        Call::CompleteLayerUpload(_) => Call::CompleteLayerUpload(decode(input)?),
        Call::PutImage(_) => Call::PutImage(decode(input)?),
        Call::BatchDeleteImage(_) => Call::BatchDeleteImage(decode(input)?),
        Call::DeleteRepository(_) => Call::DeleteRepository(decode(input)?),
    })
}
