//! One run's conversation with the server: seeding under the run prefix, sending probes,
//! judging answers with a model mirror of the server's state, cleaning up.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{
    Call, CallOutput, Expected, ImageDigest, Registry, RegistryId, batch_get_image_body,
};
use crate::oracle::{
    Observed, RuleId, Violation, check, check_in, check_put_digest, check_put_refusal,
};
use crate::remote::{Exchange, HttpTarget, TransportError};
use crate::report::{Finding, Reproduction, Response, Secrets, SetupDivergence};
use crate::strategy::manifests::ContentBlob;
use crate::strategy::{Fixture, fixture, generated_blobs};
use crate::wire::{self, Operation, Reply};

use super::journal::{Entry, HeldJournal};

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
    pub(crate) journal: Arc<HeldJournal>,
    pub(crate) fixture: Arc<Fixture>,
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
    known_blobs: Arc<std::collections::HashMap<String, ContentBlob>>,
    /// Every secret the run knows, shared by every part of it: evidence is redacted with it
    /// as it is captured.
    pub(crate) secrets: Secrets,
}

impl<'t> Session<'t> {
    /// A session against `target`, creating repositories under `prefix`.
    pub fn new(
        target: &'t HttpTarget,
        prefix: String,
        journal: Arc<HeldJournal>,
        settle: Duration,
        secrets: Secrets,
    ) -> Self {
        let fixture = fixture();
        if let Some(credentials) = target.credentials() {
            secrets.add_credentials(credentials);
        }
        Session {
            secrets,
            ..Self::part_of(
                target,
                prefix,
                journal,
                Arc::new(known_blobs(&fixture)),
                Arc::new(fixture),
                settle,
            )
        }
    }

    /// A session that has learned nothing and gathered nothing yet.
    fn part_of(
        target: &'t HttpTarget,
        prefix: String,
        journal: Arc<HeldJournal>,
        known_blobs: Arc<std::collections::HashMap<String, ContentBlob>>,
        fixture: Arc<Fixture>,
        settle: Duration,
    ) -> Self {
        Self {
            target,
            prefix,
            journal,
            known_blobs,
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
            secrets: Secrets::default(),
        }
    }

    /// A session for one independent part of the run (a contract case, a random sequence),
    /// to run beside others: what the run has learned of the server so far, and nothing
    /// gathered yet. [`Session::join`] adds what it gathered back, in the run's order, so that
    /// a report does not depend on how many parts ran at once.
    pub(crate) fn fork(&self) -> Session<'t> {
        Session {
            account: self.account.clone(),
            layer_api: self.layer_api,
            put_digests: self.put_digests,
            secrets: self.secrets.clone(),
            ..Self::part_of(
                self.target,
                self.prefix.clone(),
                Arc::clone(&self.journal),
                Arc::clone(&self.known_blobs),
                Arc::clone(&self.fixture),
                self.settle,
            )
        }
    }

    /// Adds what a [`Session::fork`] gathered: its findings only when `record` (a random
    /// sequence run while shrinking is judged, not reported), everything else always.
    pub(crate) fn join(&mut self, part: Session<'t>, record: bool) {
        if record {
            self.findings.extend(part.findings);
        }
        self.created.extend(part.created);
        self.exercised.extend(part.exercised);
        self.notes.extend(part.notes);
        for divergence in part.setup_divergences {
            if !self.setup_divergences.contains(&divergence) {
                self.setup_divergences.push(divergence);
            }
        }
        self.probes += part.probes;
        self.retries += part.retries;
        self.settle_needed = self.settle_needed.max(part.settle_needed);
        self.unjudged_by_digest += part.unjudged_by_digest;
        self.account = self.account.take().or(part.account);
        self.layer_api = self.layer_api.or(part.layer_api);
        if self.put_digests == PutDigests::Content {
            self.put_digests = part.put_digests;
        }
    }

    /// The name of fixture repository `name` in `scope`.
    pub(crate) fn name(&self, scope: &str, name: &str) -> String {
        format!("{}/{scope}/{name}", self.prefix)
    }

    /// Sends a body as `operation`.
    pub(crate) async fn send(
        &mut self,
        operation: Operation,
        body: Vec<u8>,
    ) -> Result<Exchange, TransportError> {
        let exchange = self.target.send(operation, body).await?;
        self.retries += exchange.retries;
        Ok(exchange)
    }

    /// Sends `call` as it is.
    pub(crate) async fn send_call(&mut self, call: &Call) -> Result<Exchange, TransportError> {
        self.send(call.operation(), call.body()).await
    }

    /// An empty model registry for the server's account.
    pub(crate) fn empty_mirror(&self) -> Result<Registry, CheckError> {
        let account = self
            .account
            .clone()
            .ok_or_else(|| CheckError::Setup("no account id learned".into()))?;
        Ok(Registry::new(account, self.target.region()))
    }

    /// The run's scope applied to a repository name: a fixture or generator repository
    /// `name` becomes `<prefix>/<scope>/<name>`; any other name is left as it is (the cases
    /// that name a repository nobody created mean it). The one place a scope is applied.
    pub(crate) fn scope_name(&self, scope: &str, name: &mut Option<String>) {
        if let Some(n) = name.as_deref()
            && self.is_fixture_name(n)
        {
            *name = Some(self.name(scope, n));
        }
    }

    /// `call` with its repository in `scope`.
    pub(crate) fn scoped(&self, scope: &str, call: &Call) -> Call {
        let mut call = call.clone();
        self.scope_name(scope, call.repository_name_mut());
        call
    }

    /// Sends `call` (moved into `scope`) and applies it to `mirror` when the server accepts
    /// it.
    pub(crate) async fn apply(
        &mut self,
        scope: &str,
        call: &Call,
        mirror: &mut Option<Registry>,
    ) -> Result<SetupAnswer, CheckError> {
        let call = self.scoped(scope, call);
        self.apply_scoped(call, mirror).await
    }

    /// As [`Session::apply`], for a call already in its scope.
    pub(crate) async fn apply_scoped(
        &mut self,
        call: Call,
        mirror: &mut Option<Registry>,
    ) -> Result<SetupAnswer, CheckError> {
        // The call as sent (the digest pinned, when the server needs it), for the mirror too.
        let mut sent = call.clone();
        if let Call::PutImage(put) = &mut sent
            && self.put_digests == PutDigests::Named
        {
            pin_digest(put);
        }
        if let Call::CreateRepository(create) = &sent {
            let entry = Entry {
                endpoint: self.target.url().to_owned(),
                region: self.target.region().to_owned(),
                repository: create.repository_name.clone().unwrap_or_default(),
            };
            // Before the call: without an answer (a crash, a timeout) it may have been created.
            self.journal.record(&entry)?;
            self.created.push(entry);
        }
        // Blobs are uploaded unless the mirror knows the repository is absent: the push is
        // then refused whatever was uploaded, and the uploads would be refused too.
        let absent = |put: &wire::PutImageRequest| {
            mirror.as_ref().is_some_and(|m| {
                let name = put.repository_name.as_deref().unwrap_or_default();
                m.repository(m.account.as_str(), name).is_none()
            })
        };
        if let Call::PutImage(put) = &sent
            && self.layer_api != Some(false)
            && !absent(put)
        {
            self.upload_blobs(put).await?;
        }
        let exchange = self.send_call(&sent).await?;
        if exchange.status != 200 {
            if let Call::CreateRepository(_) = &sent {
                self.withdraw_created()?;
            }
            let code = error_code(&exchange);
            if let (Call::PutImage(unpinned), Call::PutImage(pinned)) = (&call, &sent)
                && self.put_digests == PutDigests::Named
                && code == "ImageDigestDoesNotMatchException"
                && unpinned.image_digest.is_none()
            {
                self.refused_true_digest(pinned, &exchange);
                return Box::pin(self.apply_scoped(call, mirror)).await;
            }
            return Ok(SetupAnswer::Refused(code));
        }
        let answer = CallOutput::decode(sent.operation(), &exchange.body).and_then(Result::ok);
        self.learn(&sent, answer.as_ref(), &exchange)?;
        let mirror = match mirror {
            Some(mirror) => mirror,
            None => mirror.insert(self.empty_mirror()?),
        };
        let model = mirror.apply(&sent, 0.0);
        // Upload ids are the server's, which the mirror cannot know, and the mirror does not
        // require blobs: the layer upload is sent to it, never compared.
        let uploading = matches!(
            sent.operation(),
            Operation::InitiateLayerUpload
                | Operation::UploadLayerPart
                | Operation::CompleteLayerUpload
        );
        self.divergence = match &answer {
            None => Some(("an answer the harness cannot read".into(), "success".into())),
            Some(_) if uploading => None,
            Some(answer) => setup_difference(&model, answer),
        };
        Ok(SetupAnswer::Accepted(answer))
    }

    /// What an accepted setup call teaches: the account (from the first CreateRepository)
    /// and whether PutImage reports the manifests' digests (STATE-PUT-DIGEST).
    fn learn(
        &mut self,
        sent: &Call,
        answer: Option<&CallOutput>,
        exchange: &Exchange,
    ) -> Result<(), CheckError> {
        if self.account.is_none()
            && let Call::CreateRepository(_) = sent
        {
            let id = match answer {
                Some(CallOutput::CreateRepository(created)) => created
                    .repository
                    .as_ref()
                    .and_then(|r| r.registry_id.clone()),
                _ => None,
            };
            let account = id
                .as_deref()
                .and_then(|id| RegistryId::parse(id).ok())
                .ok_or_else(|| {
                    CheckError::Setup(format!("CreateRepository answered registryId {id:?}"))
                })?;
            self.account = Some(account);
        }
        if let Call::PutImage(put) = sent {
            let reported = match answer {
                Some(CallOutput::PutImage(pushed)) => pushed
                    .image
                    .as_ref()
                    .and_then(|i| i.image_id.as_ref())
                    .and_then(|id| id.image_digest.as_deref()),
                _ => None,
            };
            self.check_put_digest(put, reported, exchange);
        }
        Ok(())
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
    fn refused_true_digest(&mut self, put: &wire::PutImageRequest, exchange: &Exchange) {
        self.put_digests = PutDigests::ServerOwn;
        for v in check_put_refusal(&error_code(exchange)) {
            self.record(
                v,
                "seeding: PutImage naming the manifest's SHA-256",
                exchange,
            );
        }
        let digest = put.image_digest.as_deref().unwrap_or_default();
        self.notes.push(format!(
            "PutImage refused imageDigest {digest}, the manifest's SHA-256 (STATE-PUT-DIGEST): \
seeded without imageDigest from then on; probes that name a digest are not judged, since the \
server's digests are not the manifests' SHA-256"
        ));
    }

    /// Uploads, with the layer API, every blob a PutImage manifest names that the harness can
    /// produce and has not uploaded to that repository yet. A server without the layer API
    /// (HTTP 5xx or an unknown operation) is from then on seeded with PutImage alone.
    async fn upload_blobs(&mut self, put: &wire::PutImageRequest) -> Result<(), CheckError> {
        let repository = put.repository_name.clone().unwrap_or_default();
        let contents = crate::model::manifest::Contents::parse(
            put.image_manifest.as_deref().unwrap_or_default(),
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
                .send_call(&Call::InitiateLayerUpload(
                    wire::InitiateLayerUploadRequest {
                        repository_name: Some(repository.clone()),
                        ..Default::default()
                    },
                ))
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
            let upload_id = wire::decode_body::<wire::InitiateLayerUploadResponse>(&start.body)
                .ok()
                .and_then(|d| d.value.upload_id);
            let part = Call::UploadLayerPart(wire::UploadLayerPartRequest {
                repository_name: Some(repository.clone()),
                upload_id: upload_id.clone(),
                part_first_byte: Some(0),
                part_last_byte: Some(blob.size() as i64 - 1),
                layer_part_blob: Some(wire::Blob(blob.bytes.clone())),
                ..Default::default()
            });
            self.send_call(&part).await?;
            let complete = Call::CompleteLayerUpload(wire::CompleteLayerUploadRequest {
                repository_name: Some(repository.clone()),
                upload_id,
                layer_digests: Some(vec![blob.digest.clone()]),
                ..Default::default()
            });
            let done = self.send_call(&complete).await?;
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
    fn check_put_digest(
        &mut self,
        put: &wire::PutImageRequest,
        found: Option<&str>,
        exchange: &Exchange,
    ) {
        let manifest = put.image_manifest.as_deref().unwrap_or_default();
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
            self.note_dropped(probe, &observed);
            for v in &violations {
                self.record(v.clone(), probe, &exchange);
            }
            return Ok(violations);
        }
    }

    /// Says what the decoder left out of a probe's answer to stay bounded, if anything.
    fn note_dropped(&mut self, probe: &str, observed: &Observed) {
        let Ok(Reply::Success(decoded)) = &observed.reply else {
            return;
        };
        let wire::Dropped { issues, items } = decoded.dropped;
        if issues > 0 {
            self.notes.push(format!(
                "{probe}: {issues} more wrong-typed or unknown members than were recorded \
(at most {} and {} bytes an answer) were not reported",
                wire::MAX_ISSUES,
                wire::MAX_ISSUE_BYTES
            ));
        }
        if items > 0 {
            self.notes.push(format!(
                "{probe}: {items} list items past the first {} of the answer were not judged",
                wire::MAX_LIST_ITEMS
            ));
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
        let request = self
            .secrets
            .redact(&String::from_utf8_lossy(&exchange.request_body));
        let body = self.secrets.evidence(&exchange.body);
        let reproduction = Reproduction::new(
            self.target.url(),
            self.target.region(),
            exchange.operation.name(),
            &request,
        );
        let violation = self.secrets.redact_violation(violation);
        self.findings.push(Finding {
            message: violation.to_string(),
            violation,
            probe: self.secrets.redact(probe),
            request,
            response: Response {
                status: exchange.status,
                body,
            },
            reproduction,
        });
    }

    /// Forgets the repository journalled last: its CreateRepository was refused, so whatever
    /// has that name (RepositoryAlreadyExistsException) is not this one's to delete.
    fn withdraw_created(&mut self) -> Result<(), CheckError> {
        if let Some(refused) = self.created.pop() {
            self.journal.forget(std::slice::from_ref(&refused))?;
        }
        Ok(())
    }

    /// Deletes every repository this session created (force), and forgets them in the journal.
    pub(crate) async fn cleanup(&mut self, scope_prefix: Option<&str>) -> Result<(), CheckError> {
        let (mine, others): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.created)
            .into_iter()
            .partition(|e| scope_prefix.is_none_or(|p| e.repository.starts_with(p)));
        self.created = others;
        let mut removed = Vec::new();
        for entry in mine {
            let deletion = delete_repository(self.target, &entry.repository).await?;
            self.retries += deletion.retries;
            match deletion.kept {
                None => removed.push(entry),
                Some(why) => self
                    .notes
                    .push(format!("could not delete {}: {why}", entry.repository)),
            }
        }
        self.journal.forget(&removed)?;
        Ok(())
    }
}

/// What deleting one repository came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Why the repository is still there (`HTTP <status> <code>`); `None`: it is gone,
    /// deleted now or absent already.
    pub kept: Option<String>,
    /// Throttled attempts retried.
    pub retries: u32,
}

/// Deletes `repository` and the images in it (`force`): how every run cleans up, and
/// `ecr-contract cleanup` after a run that could not. Only ever called on repositories a run
/// journalled as created.
pub async fn delete_repository(
    target: &HttpTarget,
    repository: &str,
) -> Result<Deletion, TransportError> {
    let call = Call::DeleteRepository(wire::DeleteRepositoryRequest {
        repository_name: Some(repository.to_owned()),
        force: Some(true),
        ..Default::default()
    });
    let exchange = target.send(call.operation(), call.body()).await?;
    let code = error_code(&exchange);
    let gone = exchange.status == 200 || code == "RepositoryNotFoundException";
    Ok(Deletion {
        kept: (!gone).then(|| format!("HTTP {} {code}", exchange.status)),
        retries: exchange.retries,
    })
}

/// The blobs the harness uploads before a push, by digest: the fixture's, the generators',
/// and those the contract cases name (`n1` to `n3`; not `b1` and `b2`: the case that shows
/// LayersNotFoundException uploads them itself, after pushing without them). The first of
/// equal digests wins.
fn known_blobs(fixture: &Fixture) -> std::collections::HashMap<String, ContentBlob> {
    let named_by_cases = ["n1", "n2", "n3"].map(ContentBlob::from_seed);
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
    model: &Result<CallOutput, crate::model::OpError>,
    server: &CallOutput,
) -> Option<(String, String)> {
    match model {
        // The same manifest pushed again: refused or accepted, nothing changes (a may in the
        // spec without a tag; with a tag the contract case that probes it says so).
        Err(e) if e.code == "ImageAlreadyExistsException" => None,
        Err(e) => Some(("success".into(), e.code.to_owned())),
        Ok(model) => {
            // Codes only: how a failure echoes its id is ID-FAILURE-ECHO's, not the state's.
            let failures = |output: &CallOutput| -> Vec<String> {
                let mut out: Vec<String> = match output {
                    CallOutput::BatchDeleteImage(deleted) => deleted
                        .failures
                        .iter()
                        .flatten()
                        .map(|f| f.failure_code.clone().unwrap_or_else(|| "no code".into()))
                        .collect(),
                    _ => Vec::new(),
                };
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

/// Names the manifest's SHA-256 as `imageDigest` in a PutImage that names none.
fn pin_digest(put: &mut wire::PutImageRequest) {
    if put.image_digest.is_none() {
        let manifest = put.image_manifest.as_deref().unwrap_or_default();
        put.image_digest = Some(ImageDigest::of(manifest.as_bytes()).to_string());
    }
}

/// A setup call's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetupAnswer {
    /// Accepted, with the answer as read (`None`: not the operation's output shape).
    Accepted(Option<CallOutput>),
    /// Refused, with the error name.
    Refused(String),
}

impl SetupAnswer {
    /// The error name, if the call was refused.
    pub(crate) fn refusal(self) -> Option<String> {
        match self {
            SetupAnswer::Accepted(_) => None,
            SetupAnswer::Refused(code) => Some(code),
        }
    }
}
