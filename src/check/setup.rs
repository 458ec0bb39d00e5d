//! Setup calls: sending a call in its scope and following it in the model mirror
//! ([`Session::apply`]), uploading the blobs a push names, learning the account and how the
//! server reports digests, and how an accepted call's answer differs from ECR's. It must not
//! judge a probe (the session does) nor decide what is seeded (the plan does).

use crate::model::{Call, CallOutput, ImageDigest, Registry, RegistryId};
use crate::oracle::{RuleId, check_put_digest, check_put_refusal};
use crate::remote::{Exchange, HttpTarget, TransportError};
use crate::strategy::manifests::ContentBlob;
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
        if let Call::PutImage(put) = &call
            && needs_blobs(put, mirror.as_ref())
        {
            self.upload_blobs(&[put]).await?;
        }
        let sent = self.prepare(&call)?;
        let exchange = self.send_call(&sent).await?;
        self.follow(call, sent, exchange, mirror).await
    }

    /// `call` as it is sent now: a PutImage names the manifest's digest when the server needs
    /// it to (see [`PutDigests`]).
    fn as_sent(&self, call: &Call) -> Call {
        let mut sent = call.clone();
        if let Call::PutImage(put) = &mut sent
            && self.put_digests == PutDigests::Named
        {
            pin_digest(put);
        }
        sent
    }

    /// `call` (in its scope) made ready to send: as [`Session::as_sent`], and journalled
    /// before it is sent when it creates a repository (without an answer, a crash or a
    /// timeout, it may have been created).
    pub(super) fn prepare(&mut self, call: &Call) -> Result<Call, CheckError> {
        let sent = self.as_sent(call);
        if let Call::CreateRepository(create) = &sent {
            let entry = Entry {
                endpoint: self.target.url().to_owned(),
                region: self.target.region().to_owned(),
                repository: create.repository_name.clone().unwrap_or_default(),
            };
            self.journal.record(&entry)?;
            self.created.push(entry);
        }
        Ok(sent)
    }

    /// Follows the server's answer to `sent` (`call` as [`Session::prepare`] made it) in
    /// `mirror`: a refused create is withdrawn from the journal, an accepted call teaches
    /// what it teaches and is applied to the mirror. A PutImage sent otherwise than the
    /// harness would send it now (what it learned since: the server's own digests, or its
    /// refusal of the true one) is sent again, and only that answer is followed, as when
    /// calls go one after another.
    pub(super) async fn follow(
        &mut self,
        call: Call,
        sent: Call,
        exchange: Exchange,
        mirror: &mut Option<Registry>,
    ) -> Result<SetupAnswer, CheckError> {
        self.covered.record_call(mirror.as_ref(), &sent);
        let refused = (exchange.status != 200).then(|| error_code(&exchange));
        if let (Some(_), Call::CreateRepository(create)) = (&refused, &sent) {
            self.withdraw_created(create.repository_name.as_deref().unwrap_or_default())?;
        }
        if let (Call::PutImage(unpinned), Call::PutImage(pinned)) = (&call, &sent)
            && self.put_digests == PutDigests::Named
            && refused.as_deref() == Some("ImageDigestDoesNotMatchException")
            && unpinned.image_digest.is_none()
            && pinned.image_digest.is_some()
        {
            self.refused_true_digest(pinned, &exchange);
        }
        if self.as_sent(&call) != sent {
            return Box::pin(self.apply_scoped(call, mirror)).await;
        }
        if let Some(code) = refused {
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

    /// Uploads, with the layer API, every blob the `puts`' manifests name that the harness
    /// can produce and has not uploaded to that repository yet: all at once, each blob's
    /// three calls in order. A server without the layer API (HTTP 5xx or an unknown
    /// operation) is from then on seeded with PutImage alone.
    pub(super) async fn upload_blobs(
        &mut self,
        puts: &[&wire::PutImageRequest],
    ) -> Result<(), CheckError> {
        if self.layer_api == Some(false) {
            return Ok(());
        }
        let mut todo = Vec::new();
        for put in puts {
            let repository = put.repository_name.clone().unwrap_or_default();
            let contents = crate::model::manifest::Contents::parse(
                put.image_manifest.as_deref().unwrap_or_default(),
            )
            .unwrap_or_default();
            for digest in contents.blobs() {
                let Some(blob) = self.known_blobs.get(digest) else {
                    continue;
                };
                if self
                    .uploaded
                    .insert((repository.clone(), digest.to_owned()))
                {
                    todo.push((repository.clone(), blob.clone()));
                }
            }
        }
        let target = self.target;
        let uploads = todo
            .iter()
            .map(|(repository, blob)| upload(target, repository, blob));
        let done = futures_util::future::join_all(uploads).await;
        for ((repository, blob), upload) in todo.iter().zip(done) {
            let upload = upload?;
            self.retries += upload.retries;
            match upload.refused {
                // Else an absent repository: the PutImage that follows is refused the same way.
                Some((status, code)) => {
                    if self.layer_api.is_none()
                        && (status >= 500
                            || code.contains("UnknownOperation")
                            || code.contains("NotImplemented"))
                    {
                        self.layer_api = Some(false);
                        self.notes.push(format!("the server has no layer upload API (InitiateLayerUpload answered {code}): seeded with PutImage alone; blob checks not exercised"));
                    }
                }
                None => self.layer_api = self.layer_api.or(Some(true)),
            }
            if let Some(code) = upload.incomplete {
                self.notes.push(format!(
                    "uploading {} to {repository}: CompleteLayerUpload answered {code}",
                    blob.digest
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

/// Whether a push's blobs are to be uploaded before it: unless the mirror knows its
/// repository is absent (the push is then refused whatever was uploaded, and the uploads
/// would be refused too).
pub(super) fn needs_blobs(put: &wire::PutImageRequest, mirror: Option<&Registry>) -> bool {
    mirror.is_none_or(|m| {
        let name = put.repository_name.as_deref().unwrap_or_default();
        m.repository(m.account.as_str(), name).is_some()
    })
}

/// What uploading one blob came to.
struct Upload {
    /// Throttled attempts retried, over its three calls.
    retries: u32,
    /// InitiateLayerUpload's status and error name, when it refused (nothing else was sent).
    refused: Option<(u16, String)>,
    /// CompleteLayerUpload's error name, when it refused for another reason than the layer
    /// being there already.
    incomplete: Option<String>,
}

/// Uploads `blob` to `repository`: InitiateLayerUpload, one UploadLayerPart, then
/// CompleteLayerUpload, one after another.
async fn upload(
    target: &HttpTarget,
    repository: &str,
    blob: &ContentBlob,
) -> Result<Upload, TransportError> {
    let send = |call: Call| async move { target.send(call.operation(), call.body()).await };
    let start = send(Call::InitiateLayerUpload(
        wire::InitiateLayerUploadRequest {
            repository_name: Some(repository.to_owned()),
            ..Default::default()
        },
    ))
    .await?;
    let mut done = Upload {
        retries: start.retries,
        refused: None,
        incomplete: None,
    };
    if start.status != 200 {
        done.refused = Some((start.status, error_code(&start)));
        return Ok(done);
    }
    let upload_id = wire::decode_body::<wire::InitiateLayerUploadResponse>(&start.body)
        .ok()
        .and_then(|d| d.value.upload_id);
    let part = send(Call::UploadLayerPart(wire::UploadLayerPartRequest {
        repository_name: Some(repository.to_owned()),
        upload_id: upload_id.clone(),
        part_first_byte: Some(0),
        part_last_byte: Some(blob.size() as i64 - 1),
        layer_part_blob: Some(wire::Blob(blob.bytes.clone())),
        ..Default::default()
    }))
    .await?;
    let complete = send(Call::CompleteLayerUpload(
        wire::CompleteLayerUploadRequest {
            repository_name: Some(repository.to_owned()),
            upload_id,
            layer_digests: Some(vec![blob.digest.clone()]),
            ..Default::default()
        },
    ))
    .await?;
    done.retries += part.retries + complete.retries;
    let code = error_code(&complete);
    if complete.status != 200 && code != "LayerAlreadyExistsException" {
        done.incomplete = Some(code);
    }
    Ok(done)
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
