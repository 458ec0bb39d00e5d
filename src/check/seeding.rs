//! Seeding: the STATE-PUT-DIGEST probe beside the base fixture, and the standard fixture (or
//! a case's share of it) seeded into a scope in waves (see `waves`), each divergence from ECR
//! recorded. It must not judge the cases' requests (see `cases`).

use tokio::sync::watch;

use crate::model::{Call, Registry, RegistryId};
use crate::report::SetupDivergence;
use crate::wire::{self, Operation};

use super::cleanup::cleanup_scope;
use super::digests::PutDigests;
use super::session::{CheckError, Session};
use super::setup::needs_blobs;
use super::waves::waves;

/// The STATE-PUT-DIGEST probe and the base fixture, side by side; the base's model mirror.
/// The base waits for what the probe learns before it needs it (the account before its
/// creates, how digests are sent before its pushes), so it sends what it would send after
/// the probe, and what both gathered is joined in that order: the report does not depend on
/// which answer came first.
pub(super) async fn seed_base(session: &mut Session<'_>) -> Result<Registry, CheckError> {
    let (tell, learned) = watch::channel(Learned {
        stage: Stage::Started,
        account: None,
        put_digests: PutDigests::Content,
    });
    let (mut digest, mut base) = (session.fork(), session.fork());
    let calls = session.fixture.calls();
    let (probed, seeded) = futures_util::future::join(
        probe_put_digest(&mut digest, tell),
        seed_waves(&mut base, "base", calls, Some(Beside(learned))),
    )
    .await;
    // What both parts learned of the server on their own (no layer API) is said once.
    base.notes.retain(|note| !digest.notes.contains(note));
    // The base started from what the probe learned, and may have learned more.
    let put_digests = base.put_digests;
    session.join(digest, true);
    session.join(base, true);
    if put_digests != PutDigests::Content {
        session.put_digests = put_digests;
    }
    probed?;
    seeded
}

/// How far the digest probe has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Started,
    /// Its repository's CreateRepository was answered: the account is known, if it can be.
    Created,
    /// Its PutImage was answered, or will not be sent: how digests are sent is known.
    Pushed,
}

/// What the digest probe has learned of the server, and how far it has got.
#[derive(Debug, Clone)]
struct Learned {
    stage: Stage,
    account: Option<RegistryId>,
    put_digests: PutDigests,
}

/// The base seeding's view of the digest probe beside it.
struct Beside(watch::Receiver<Learned>);

impl Beside {
    /// Waits until the probe reaches `stage` (or ends, whatever way), then takes what it
    /// learned that `session` has not.
    async fn wait(&mut self, stage: Stage, session: &mut Session<'_>) {
        let _ = self.0.wait_for(|learned| learned.stage >= stage).await;
        let learned = self.0.borrow().clone();
        if session.account.is_none() {
            session.account = learned.account;
        }
        if session.put_digests == PutDigests::Content {
            session.put_digests = learned.put_digests;
        }
    }
}

/// Tells the base seeding how far the probe has got, and what it learned.
fn tell(tell: &watch::Sender<Learned>, session: &Session<'_>, stage: Stage) {
    tell.send_replace(Learned {
        stage,
        account: session.account.clone(),
        put_digests: session.put_digests,
    });
}

/// STATE-PUT-DIGEST: pushes the fixture's first image without `imageDigest` in a scope of
/// its own (its repository created first). A server that answers with a digest of its own
/// is seeded from then on with `imageDigest` named (see `Session::pin_digests`).
async fn probe_put_digest(
    session: &mut Session<'_>,
    learned: watch::Sender<Learned>,
) -> Result<(), CheckError> {
    let calls = session.fixture.calls();
    let first_put = calls
        .iter()
        .position(|c| c.operation() == Operation::PutImage)
        .unwrap_or(0);
    let repository = calls.get(first_put).and_then(Call::repository_name);
    let needed = calls[..=first_put].iter().filter(|c| {
        c.operation() == Operation::PutImage
            || (c.operation() == Operation::CreateRepository && c.repository_name() == repository)
    });
    let mut mirror = None;
    for call in needed {
        let answer = session.apply("digest", call, &mut mirror).await?;
        let stage = match call.operation() {
            Operation::PutImage => Stage::Pushed,
            _ => Stage::Created,
        };
        tell(&learned, session, stage);
        // A refusal here is met again, and reported, when the fixture is seeded.
        if answer.refusal().is_some() {
            break;
        }
    }
    tell(&learned, session, Stage::Pushed);
    // A server that reports digests of its own is from now on told the digest, and its
    // answers then carry it: whether `imageDigest` is the manifest's SHA-256 (MAN-DIGEST) is
    // judged here, on the image it named itself, not only on those the harness named.
    let tag = match calls.get(first_put) {
        Some(Call::PutImage(put)) => put.image_tag.clone(),
        _ => None,
    };
    if let (Some(mirror), Some(tag), false) =
        (&mirror, tag, session.put_digests == PutDigests::Content)
    {
        let request = wire::BatchGetImageRequest {
            repository_name: Some(session.name("digest", "team/app")),
            image_ids: Some(vec![wire::ImageIdentifier::tag(tag)]),
            ..Default::default()
        };
        let body = wire::encode_request(&request).body;
        session
            .probe("the image of the PutImage digest probe", mirror, body, None)
            .await?;
    }
    cleanup_scope(session, "digest").await
}

/// Seeds the standard fixture (or a case's share of it) into `scope`; returns the model
/// mirror of what the server holds. A call the server answers otherwise than ECR is a setup
/// divergence, and seeding goes on: the mirror follows what the server holds, so what can
/// still be judged is. Only a server that accepts no call at all stops the run.
pub(super) async fn seed_fixture(
    session: &mut Session<'_>,
    scope: &str,
    calls: Vec<Call>,
) -> Result<Registry, CheckError> {
    seed_waves(session, scope, calls, None).await
}

/// As [`seed_fixture`], a wave at a time: the blobs its pushes need uploaded at once (with
/// those of later pushes into repositories that exist already), then its calls sent at
/// once, then their answers followed in the plan's order, as if they had been sent one
/// after another. `beside`: the digest probe whose answers it waits for.
async fn seed_waves(
    session: &mut Session<'_>,
    scope: &str,
    calls: Vec<Call>,
    mut beside: Option<Beside>,
) -> Result<Registry, CheckError> {
    if calls.is_empty() {
        return session.empty_mirror();
    }
    let scoped: Vec<Call> = calls.iter().map(|c| session.scoped(scope, c)).collect();
    let mut mirror: Option<Registry> = None;
    let mut first_refusal = None;
    for wave in waves(&calls) {
        let pushes = scoped[wave.clone()]
            .iter()
            .any(|c| c.operation() == Operation::PutImage);
        if pushes {
            let uploads = blobs_due(&scoped, wave.clone(), mirror.as_ref());
            session.upload_blobs(&uploads).await?;
        }
        if let Some(beside) = &mut beside {
            let stage = if pushes {
                Stage::Pushed
            } else {
                Stage::Created
            };
            beside.wait(stage, session).await;
        }
        let answers = send_wave(session, scoped[wave.clone()].to_vec(), &mut mirror).await?;
        for (step, divergence) in wave.zip(answers) {
            let Some((found, expected)) = divergence else {
                continue;
            };
            let call = calls[step].operation().name();
            first_refusal.get_or_insert_with(|| format!("{call} answered {found}"));
            session.setup_divergences.push(SetupDivergence {
                case: format!("fixture ({scope})"),
                step,
                call: call.to_owned(),
                found,
                expected,
                judged: true,
            });
        }
    }
    mirror.ok_or_else(|| {
        let why = first_refusal.unwrap_or_else(|| "no call was answered".into());
        CheckError::Setup(format!(
            "seeding {scope}: the server accepts no call ({why})"
        ))
    })
}

/// The pushes whose blobs go up before `wave`: its own (unless the mirror knows the
/// repository is absent), and later ones into repositories the mirror knows exist.
fn blobs_due<'c>(
    scoped: &'c [Call],
    wave: std::ops::Range<usize>,
    mirror: Option<&Registry>,
) -> Vec<&'c wire::PutImageRequest> {
    let exists = |put: &wire::PutImageRequest| mirror.is_some() && needs_blobs(put, mirror);
    scoped
        .iter()
        .enumerate()
        .skip(wave.start)
        .filter_map(|(i, call)| match call {
            Call::PutImage(put) if wave.contains(&i) && needs_blobs(put, mirror) => Some(put),
            Call::PutImage(put) if i >= wave.end && exists(put) => Some(put),
            _ => None,
        })
        .collect()
}

/// Sends `calls` (in their scope) at once, then follows each answer in `mirror` in their
/// order: for each, how it differed from ECR's, as `(found, expected)`, if it did.
async fn send_wave(
    session: &mut Session<'_>,
    calls: Vec<Call>,
    mirror: &mut Option<Registry>,
) -> Result<Vec<Option<(String, String)>>, CheckError> {
    let sent = calls
        .iter()
        .map(|call| session.prepare(call))
        .collect::<Result<Vec<Call>, CheckError>>()?;
    let target = session.target;
    let sends = sent.iter().map(|c| target.send(c.operation(), c.body()));
    let (mut answered, mut failed, mut refused_creates) = (Vec::new(), None, Vec::new());
    let exchanges = futures_util::future::join_all(sends).await;
    for (i, (call, exchange)) in sent.iter().zip(exchanges).enumerate() {
        match exchange {
            Err(e) => failed = failed.or(Some(e)),
            Ok(exchange) => {
                if let (Call::CreateRepository(create), false) = (call, exchange.status == 200) {
                    refused_creates.push((i, create.repository_name.clone().unwrap_or_default()));
                }
                answered.push(exchange);
            }
        }
    }
    // A create refused is not the run's to delete, even when what follows it is not
    // followed: withdrawn here for calls past `followed`, by `follow` for the others.
    let withdraw_after = |session: &mut Session<'_>, followed: Option<usize>| {
        refused_creates
            .iter()
            .filter(|(i, _)| followed.is_none_or(|f| *i > f))
            .try_for_each(|(_, name)| session.withdraw_created(name))
    };
    if let Some(e) = failed {
        session.retries += answered.iter().map(|e| e.retries).sum::<u32>();
        withdraw_after(session, None)?;
        return Err(e.into());
    }
    let mut differences = Vec::with_capacity(calls.len());
    for (i, ((call, sent), exchange)) in calls.into_iter().zip(sent).zip(answered).enumerate() {
        session.retries += exchange.retries;
        let answer = match session.follow(call, sent, exchange, mirror).await {
            Ok(answer) => answer,
            Err(e) => {
                withdraw_after(session, Some(i))?;
                return Err(e);
            }
        };
        differences.push(match answer.refusal() {
            Some(code) => Some((code, "success".to_owned())),
            None => session.take_divergence(),
        });
    }
    Ok(differences)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::check::journal::Journal;
    use crate::remote::HttpTarget;
    use crate::report::Secrets;
    use crate::serve::{self, Config, always};
    use crate::strategy::REGION;
    use crate::wire::Credentials;

    /// Every answer's delay: far above what the server itself takes, so that elapsed time
    /// counts round trips.
    const ROUND_TRIP: Duration = Duration::from_millis(300);

    /// A server that requires blobs, each answer delayed by `delay`, and a target and a
    /// journal in a directory of its own for a session against it.
    async fn delayed(name: &str, delay: Duration) -> (serve::Server, HttpTarget, Journal) {
        let server = serve::spawn(Config {
            require_blobs: true,
            ..Config::default()
        })
        .await
        .expect("the server starts");
        if !delay.is_zero() {
            server
                .endpoint()
                .fault_on_any(always(), serve::Fault::Delay(delay));
        }
        let target = HttpTarget::new(
            &server.url(),
            REGION,
            Some(Credentials::placeholder()),
            Duration::from_secs(30),
        )
        .expect("a target");
        let dir = std::env::temp_dir().join(format!(
            "ecr-contract-seeding-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a directory");
        (server, target, Journal::new(dir.join("journal.tsv")))
    }

    /// Removes the test's journal and its directory.
    fn forget(journal: &Journal) {
        if let Some(dir) = journal.path().parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn session<'t>(target: &'t HttpTarget, journal: &Journal) -> Session<'t> {
        let held = journal.hold().expect("the journal").expect("not held");
        Session::new(
            target,
            "run".into(),
            Arc::new(held.under_prefix("run")),
            Duration::ZERO,
            Secrets::default(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_base_fixture_and_the_digest_probe_cost_a_handful_of_round_trips_not_one_a_call() {
        let (server, target, journal) = delayed("handful", ROUND_TRIP).await;
        let mut session = session(&target, &journal);
        let start = Instant::now();
        let base = seed_base(&mut session).await.expect("seeded");
        let seeding = start.elapsed();
        // One call after another: 13 calls and 17 blobs of three calls each for the base, 2
        // calls, 3 blobs and a delete for the digest probe, 76 round trips. In waves, beside
        // the probe: 8 (the probe's create; the base's creates; its uploads, three deep, as
        // the probe's push is answered; the base's three waves of pushes).
        assert!(seeding < ROUND_TRIP * 12, "seeding took {seeding:?}");
        assert_eq!(session.setup_divergences, vec![], "{:?}", session.notes);
        assert!(session.findings.is_empty(), "{:?}", session.findings);
        let endpoint = server.endpoint();
        assert_eq!(endpoint.requests(Operation::CreateRepository), 4);
        assert_eq!(endpoint.requests(Operation::PutImage), 11);
        assert_eq!(endpoint.requests(Operation::InitiateLayerUpload), 20);
        // The mirror holds what the server holds: the whole fixture, under the base scope.
        let held = endpoint.registry();
        for (name, _) in &session.fixture.repositories {
            let name = session.name("base", name);
            let images = |r: &Registry| {
                let repository = r.repository(r.account.as_str(), &name).expect(&name);
                (repository.images.len(), repository.tags.len())
            };
            assert_eq!(images(&base), images(&held), "{name}");
        }
        // The three base repositories deleted at once, and forgotten.
        let start = Instant::now();
        session.cleanup(None).await.expect("deleted");
        assert!(start.elapsed() < ROUND_TRIP * 2, "{:?}", start.elapsed());
        assert_eq!(endpoint.requests(Operation::DeleteRepository), 4);
        assert!(journal.entries().expect("read").is_empty());
        server.shutdown().await;
        forget(&journal);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_create_refused_in_a_wave_withdraws_its_own_journal_entry_and_no_other() {
        let (server, target, journal) = delayed("withdraw", ROUND_TRIP).await;
        let mut session = session(&target, &journal);
        // The first of the wave's three creates meets a repository that is not the run's.
        let taken = session.name("c1", "team/app");
        let create = Call::CreateRepository(wire::CreateRepositoryRequest {
            repository_name: Some(taken.clone()),
            ..Default::default()
        });
        let exchange = target.send(create.operation(), create.body()).await;
        assert_eq!(exchange.expect("answered").status, 200);
        let calls = session.fixture.calls();
        seed_fixture(&mut session, "c1", calls)
            .await
            .expect("seeded");
        let journalled: Vec<String> = journal
            .entries()
            .expect("read")
            .into_iter()
            .map(|e| e.repository)
            .collect();
        let created: Vec<&str> = session
            .created
            .iter()
            .map(|e| e.repository.as_str())
            .collect();
        let others = [session.name("c1", "locked"), session.name("c1", "ubuntu")];
        assert_eq!(journalled, others);
        assert_eq!(created, others);
        assert_eq!(
            session.setup_divergences[0].found,
            "RepositoryAlreadyExistsException"
        );
        server.shutdown().await;
        forget(&journal);
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_create_refused_beside_one_that_stops_the_run_is_still_withdrawn() {
        let (server, target, journal) = delayed("stopped", Duration::ZERO).await;
        let mut session = session(&target, &journal);
        let taken = session.name("c2", "ubuntu");
        let create = Call::CreateRepository(wire::CreateRepositoryRequest {
            repository_name: Some(taken),
            ..Default::default()
        });
        let exchange = target.send(create.operation(), create.body()).await;
        assert_eq!(exchange.expect("answered").status, 200);
        // Every create's answer cut in half: the first teaches no account, which stops the
        // run before the third (refused: `ubuntu` is not the run's) is followed.
        server.endpoint().fault_on(
            Operation::CreateRepository,
            always(),
            serve::Fault::Truncate,
        );
        let calls = session.fixture.calls();
        let stopped = seed_fixture(&mut session, "c2", calls).await;
        assert!(matches!(stopped, Err(CheckError::Setup(_))), "{stopped:?}");
        let journalled: Vec<String> = journal
            .entries()
            .expect("read")
            .into_iter()
            .map(|e| e.repository)
            .collect();
        let created = [session.name("c2", "team/app"), session.name("c2", "locked")];
        assert_eq!(journalled, created);
        server.shutdown().await;
        forget(&journal);
    }
}
