//! Setup calls: sending a call in its scope and following it in the model mirror
//! ([`Session::apply`]), uploading the blobs a push names, learning the account and how the
//! server reports digests, and how an accepted call's answer differs from ECR's. It must not
//! judge a probe (the session does) nor decide what is seeded (the plan does).

use crate::model::{Call, CallOutput, ImageDigest, Registry, RegistryId};
use crate::oracle::{RuleId, check_put_digest, check_put_refusal};
use crate::remote::Exchange;
use crate::wire::{self, Operation};

use super::digests::{PutDigests, pin_digest};
use super::journal::Entry;
use super::judging::error_code;
use super::session::{CheckError, Session};

impl<'t> Session<'t> {
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
        self.covered.record_call(mirror.as_ref(), &sent);
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
        // A repository deleted, or created (again), holds no blob: the next push uploads them.
        if let Call::CreateRepository(_) | Call::DeleteRepository(_) = &sent {
            let name = sent.repository_name().unwrap_or_default();
            self.uploaded.retain(|(repository, _)| repository != name);
        }
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
    pub(super) async fn upload_blobs(
        &mut self,
        put: &wire::PutImageRequest,
    ) -> Result<(), CheckError> {
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
