//! One run's conversation with the server: the [`Session`] (what the run has learned and
//! gathered), its forks and joins, scoping names under the run prefix, sending, and probes
//! judged against a model mirror of the server's state. Setup calls are in `setup`, cleanup
//! in `cleanup`; this file must not decide what is sent (the phases do).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{Call, Registry, RegistryId, batch_get_image_body};
use crate::oracle::{Observed, RuleId, Violation};
use crate::remote::{Exchange, HttpTarget, TransportError};
use crate::report::{Finding, Reproduction, Response, Secrets, SetupDivergence};
use crate::strategy::manifests::ContentBlob;
use crate::strategy::{Fixture, fixture};
use crate::wire::{self, Operation, Reply};

use super::blobs::known_blobs;
use super::digests::{PutDigests, names_digest};
use super::journal::{Entry, HeldJournal};
use super::judging::{ERROR_RULES, SUCCESS_RULES, WIRE_RULES, judge};

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
    /// The rows and contexts of the decision tables the probes reached.
    pub(crate) covered: crate::oracle::coverage::Coverage,
    pub(crate) notes: Vec<String>,
    pub(crate) setup_divergences: Vec<SetupDivergence>,
    pub(crate) probes: usize,
    pub(crate) retries: u32,
    pub(crate) settle_needed: Duration,
    /// Whether shrinking stopped at its cap of candidate runs.
    pub(crate) shrinking_capped: bool,
    pub(crate) uploaded: std::collections::HashSet<(String, String)>,
    /// How PutImage digests are sent, after what the server showed (STATE-PUT-DIGEST).
    pub(crate) put_digests: PutDigests,
    /// How the server's last answer to a setup call differed from ECR's, if it did: the
    /// mirror then no longer holds what the server holds (see [`Session::take_divergence`]).
    pub(super) divergence: Option<(String, String)>,
    /// Probes not judged because they name digests on a server whose digests the harness
    /// cannot know ([`PutDigests::ServerOwn`]).
    pub(crate) unjudged_by_digest: usize,
    /// The blobs the harness can upload, by digest (see [`known_blobs`]).
    pub(super) known_blobs: Arc<std::collections::HashMap<String, ContentBlob>>,
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
            covered: Default::default(),
            notes: Vec::new(),
            setup_divergences: Vec::new(),
            probes: 0,
            retries: 0,
            settle_needed: Duration::ZERO,
            shrinking_capped: false,
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
        self.learn_from(&part);
        if record {
            self.findings.extend(part.findings);
        }
        self.created.extend(part.created);
        self.exercised.extend(part.exercised);
        self.covered.join(part.covered);
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
    }

    /// What `part` learned of the server that this session has not: the account, whether it
    /// has the layer API, how it reports PutImage digests.
    pub(crate) fn learn_from(&mut self, part: &Session<'t>) {
        if self.account.is_none() {
            self.account.clone_from(&part.account);
        }
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
            self.covered.record_request(mirror, &body, &expected);
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
}
