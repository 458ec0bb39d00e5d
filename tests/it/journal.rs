//! Where `check` journals what it creates: a file of each run's own in the state directory,
//! never in the working directory; an interrupted run says where it is, and `cleanup` without
//! arguments removes what earlier runs left there.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecr_contract::Suite;
use ecr_contract::check::{Entry, HeldJournal, Journal};
use ecr_contract::serve::{Fault, Responder, Server, always, spawn};
use ecr_contract::wire::{Credentials, Operation};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::broken::reference_config;
use crate::support::{binary, binary_in, files_in, signed_target, suite, tempdir};

fn repositories(server: &Server) -> usize {
    server.endpoint().registry().repositories().count()
}

#[test]
fn a_check_leaves_nothing_in_the_working_directory_nor_in_the_state_directory() {
    let world = tempdir().join("clean-run");
    let (cwd, state) = (world.join("cwd"), world.join("state"));
    let output = binary_in(&cwd, &state, &world.join("home"))
        .args(["check", "--cases", "3", "--seed", "1"])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        files_in(&cwd),
        Vec::<String>::new(),
        "the working directory"
    );
    assert_eq!(
        files_in(&state.join("ecr-contract")),
        Vec::<String>::new(),
        "a run that deleted what it created leaves no journal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_check_names_its_journal_and_cleanup_without_arguments_removes_what_it_left()
{
    let server = spawn(reference_config()).await.expect("serve starts");
    // Slow reads: the run is still in its contract cases when it is interrupted.
    server.endpoint().fault_on(
        Operation::BatchGetImage,
        always(),
        Fault::Delay(Duration::from_millis(300)),
    );
    let world = tempdir().join("interrupted");
    let _ = std::fs::remove_dir_all(&world);
    let (cwd, state, home) = (world.join("cwd"), world.join("state"), world.join("home"));
    // Without XDG_STATE_HOME the journal goes to ~/.local/state/ecr-contract.
    let mut command = binary_in(&cwd, &state, &home);
    command
        .env_remove("XDG_STATE_HOME")
        .args(["check", "--endpoint-url", &server.url(), "--cases", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("check starts");
    let started = Instant::now();
    while repositories(&server) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing seeded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While the run goes on, cleanup leaves its journal alone.
    let dir = home.join(".local/state/ecr-contract");
    let (during, cwd, state, home) = tokio::task::spawn_blocking(move || {
        let mut command = binary_in(&cwd, &state, &home);
        command.env_remove("XDG_STATE_HOME").arg("cleanup");
        (command.output().expect("cleanup runs"), cwd, state, home)
    })
    .await
    .expect("joins");
    let during = String::from_utf8_lossy(&during.stdout);
    let live = Journal::left_in(&dir).expect("listed");
    assert_eq!(live.len(), 1, "{during}");
    assert!(
        during.contains(&format!(
            "{}: skipped, held by a run still going",
            live[0].path().display()
        )) && !during.contains("deleted "),
        "{during}"
    );
    let interrupt = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupt.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joins")
        .expect("check ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let journals = Journal::left_in(&dir).expect("listed");
    assert_eq!(journals.len(), 1, "{stderr}");
    let left: Vec<Entry> = journals[0].entries().expect("entries");
    assert!(!left.is_empty());
    assert!(
        stderr.contains("error: interrupted")
            && stderr.contains(&format!(
                "journal: {} lists {} repositories this run created; `ecr-contract cleanup` deletes them",
                journals[0].path().display(),
                left.len()
            )),
        "{stderr}"
    );
    assert_eq!(
        files_in(&cwd),
        Vec::<String>::new(),
        "the working directory"
    );
    assert!(
        repositories(&server) > 0,
        "the interrupted run left repositories"
    );

    let cleanup = tokio::task::spawn_blocking(move || {
        let mut command = binary_in(&cwd, &state, &home);
        command.env_remove("XDG_STATE_HOME").arg("cleanup");
        (command.output().expect("cleanup runs"), cwd)
    });
    let (output, cwd) = cleanup.await.expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "1 journals left by earlier runs in {}",
            dir.display()
        )),
        "{stdout}"
    );
    assert_eq!(repositories(&server), 0, "{stdout}");
    assert!(Journal::left_in(&dir).expect("listed").is_empty());
    assert_eq!(files_in(&cwd), Vec::<String>::new());
    server.shutdown().await;
}

#[test]
fn journals_are_listed_from_the_state_directory_oldest_first() {
    let dir = tempdir().join("listing");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        Journal::left_in(&dir)
            .expect("no folder, no journal")
            .is_empty()
    );
    let entry = Entry {
        endpoint: "http://127.0.0.1:9".into(),
        region: "us-east-1".into(),
        repository: "ecr-contract-00000000/team/app".into(),
    };
    for name in ["journal-20-1-000000000.tsv", "journal-10-1-000000000.tsv"] {
        held(&dir.join(name)).record(&entry).expect("written");
    }
    std::fs::write(dir.join("notes.txt"), "not a journal").expect("written");
    let names: Vec<String> = Journal::left_in(&dir)
        .expect("listed")
        .iter()
        .map(|j| file_name(j.path()))
        .collect();
    assert_eq!(
        names,
        ["journal-10-1-000000000.tsv", "journal-20-1-000000000.tsv"]
    );
    let fresh = Journal::for_run(&dir);
    assert!(file_name(fresh.path()).starts_with("journal-"));
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The journal at `path`, held by this test.
fn held(path: &Path) -> HeldJournal {
    Journal::new(path)
        .hold()
        .expect("locked")
        .expect("held by no one else")
}

/// A repository of a run that is still going (its journal held), named under its prefix.
const LIVE: &str = "ecr-contract-0000live/team/app";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_skips_the_journal_of_a_live_run_and_leaves_its_repositories() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let target = signed_target(&server.url(), Duration::from_secs(10));
    let world = tempdir().join("live");
    let _ = std::fs::remove_dir_all(&world);
    let (cwd, state, home) = (world.join("cwd"), world.join("state"), world.join("home"));
    let journal = Journal::for_run(&state.join("ecr-contract"));
    let live = held(journal.path()).under_prefix("ecr-contract-0000live");
    live.record(&Entry {
        endpoint: server.url(),
        region: "us-east-1".into(),
        repository: LIVE.into(),
    })
    .expect("journalled");
    let body = serde_json::to_vec(&serde_json::json!({"repositoryName": LIVE})).expect("JSON");
    let created = target.send(Operation::CreateRepository, body).await;
    assert_eq!(created.expect("created").status, 200);

    let cleanup = |(cwd, state, home): (PathBuf, PathBuf, PathBuf)| {
        tokio::task::spawn_blocking(move || {
            let output = binary_in(&cwd, &state, &home)
                .arg("cleanup")
                .output()
                .expect("cleanup runs");
            (output, (cwd, state, home))
        })
    };
    let (output, world) = cleanup((cwd, state, home)).await.expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{}: skipped, held by a run still going",
            journal.path().display()
        )),
        "{stdout}"
    );
    assert_eq!(repositories(&server), 1, "the live run's repository stays");
    assert_eq!(live.entries().expect("entries").len(), 1);

    // The run dies: the system releases its lock, its entries stay for cleanup.
    drop(live);
    let (output, _) = cleanup(world).await.expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(repositories(&server), 0, "{stdout}");
    assert!(!journal.path().exists(), "{stdout}");
    server.shutdown().await;
}

#[test]
fn a_name_outside_the_run_prefix_is_refused() {
    let dir = tempdir().join("prefix");
    let _ = std::fs::remove_dir_all(&dir);
    let journal =
        held(&dir.join("journal-1-1-000000000.tsv")).under_prefix("ecr-contract-0000abcd");
    let entry = |repository: &str| Entry {
        endpoint: "http://127.0.0.1:9".into(),
        region: "us-east-1".into(),
        repository: repository.into(),
    };
    for outside in [
        "team/app",
        "ecr-contract-0000abcdX/app",
        "ecr-contract-0000abcd",
        "",
    ] {
        let refused = journal.record(&entry(outside)).expect_err(outside);
        assert_eq!(
            refused.kind(),
            std::io::ErrorKind::InvalidInput,
            "{outside}"
        );
        assert!(
            refused.to_string().contains("not under the run's prefix"),
            "{refused}"
        );
    }
    journal
        .record(&entry("ecr-contract-0000abcd/team/app"))
        .expect("under the prefix");
    assert_eq!(
        journal.entries().expect("entries"),
        [entry("ecr-contract-0000abcd/team/app")]
    );
}

/// The reference server, but the run's first CreateRepository finds its repository already
/// there: another client created it just before (the name is remembered).
#[derive(Clone)]
struct Preempted {
    inner: Responder,
    name: Arc<Mutex<Option<String>>>,
}

impl Respond for Preempted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let create = request
            .headers
            .get("x-amz-target")
            .is_some_and(|t| t.as_bytes() == Operation::CreateRepository.target().as_bytes());
        let mut name = self.name.lock().expect("not poisoned");
        if create && name.is_none() {
            let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
            *name = body["repositoryName"].as_str().map(str::to_owned);
            // Someone else's create, answered before the harness's own.
            self.inner.respond(request);
        }
        self.inner.respond(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_is_not_journalled_and_cleanup_leaves_the_repository_that_was_there() {
    let responder = Responder::new(reference_config().endpoint());
    let preempted = Preempted {
        inner: responder.clone(),
        name: Arc::default(),
    };
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(preempted.clone())
        .mount(&server)
        .await;
    let journal = tempdir().join("refused.tsv");
    let _ = std::fs::remove_file(&journal);
    // Whether the run copes with the refusal does not matter here; it keeps what it created.
    let _ = suite(&server.uri(), 3, &journal).keep(true).run().await;
    let name = preempted.name.lock().expect("not poisoned").clone();
    let name = name.expect("a CreateRepository was sent");
    let names = || -> Vec<String> {
        let registry = responder.endpoint().registry();
        registry
            .repositories()
            .map(|r| r.name.to_string())
            .collect()
    };
    let journalled: Vec<String> = Journal::new(&journal)
        .entries()
        .expect("entries")
        .into_iter()
        .map(|e| e.repository)
        .collect();
    assert!(
        !journalled.contains(&name),
        "{name} journalled: {journalled:?}"
    );
    assert!(names().contains(&name));

    let output = tokio::task::spawn_blocking(move || {
        binary()
            .args(["cleanup", "--journal"])
            .arg(&journal)
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(names(), [name], "{stdout}");
}

fn three_entries() -> Vec<Entry> {
    ["a", "b", "c"]
        .map(|name| Entry {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            repository: format!("ecr-contract-0000abcd/{name}"),
        })
        .into()
}

#[test]
fn a_rewrite_replaces_the_journal_whole_and_a_crash_before_the_rename_loses_no_entry() {
    let dir = tempdir().join("rewrite");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("journal-1-1-000000000.tsv");
    let entries = three_entries();
    let journal = held(&path);
    for entry in &entries {
        journal.record(entry).expect("journalled");
    }
    // A reader that opened the journal before a rewrite still reads every entry: the journal
    // is replaced, never truncated and written again in place.
    let mut before = std::fs::File::open(&path).expect("opens");
    journal.forget(&entries[..1]).expect("forgotten");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut before, &mut text).expect("reads");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert_eq!(journal.entries().expect("entries"), entries[1..]);
    let temporary = dir.join("journal-1-1-000000000.tsv.tmp");
    assert!(!temporary.exists(), "no temporary file left");
    drop(journal);

    // A crash after the temporary file was written, before the rename: the journal is whole,
    // and the next owner's rewrite goes on from it.
    std::fs::write(
        &temporary,
        "http://127.0.0.1:9\tus-east-1\tecr-contract-0000abcd/c\n",
    )
    .expect("written");
    assert_eq!(
        Journal::new(&path).entries().expect("entries"),
        entries[1..]
    );
    assert_eq!(
        Journal::left_in(&dir).expect("listed").len(),
        1,
        "the temporary file is no journal"
    );
    let journal = held(&path);
    journal.forget(&entries[2..]).expect("forgotten");
    assert_eq!(journal.entries().expect("entries"), entries[1..2]);
    assert!(!temporary.exists());
    journal.forget(&entries[1..2]).expect("forgotten");
    assert!(!path.exists(), "an empty journal is removed");
    // Recorded again after the removal: the journal comes back, held.
    journal.record(&entries[0]).expect("journalled");
    assert_eq!(journal.entries().expect("entries"), entries[..1]);
    assert!(
        Journal::new(&path).hold().expect("locks").is_none(),
        "still held"
    );
}

#[test]
fn a_journal_is_held_by_one_owner_at_a_time_and_free_once_it_is_dropped() {
    let dir = tempdir().join("owners");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("journal-1-1-000000000.tsv");
    let first = held(&path);
    first.record(&three_entries()[0]).expect("journalled");
    assert!(Journal::new(&path).hold().expect("locks").is_none());
    drop(first);
    let second = held(&path);
    assert_eq!(second.entries().expect("entries").len(), 1);
}

/// Set in the child process of the test below: the endpoint its `Suite` runs against.
const SUITE_CHILD: &str = "ECR_CONTRACT_TEST_SUITE_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suites_default_journal_is_where_cleanup_looks() {
    if let Ok(url) = std::env::var(SUITE_CHILD) {
        // The child: a library user's run, its journal left where the Suite puts it.
        Suite::new(url)
            .cases(1)
            .seed(7)
            .credentials(Credentials::placeholder())
            .keep(true)
            .run()
            .await
            .expect("the run");
        return;
    }
    let server = spawn(reference_config()).await.expect("serve starts");
    let world = tempdir().join("suite-default");
    let _ = std::fs::remove_dir_all(&world);
    let (cwd, state, home) = (world.join("cwd"), world.join("state"), world.join("home"));
    // In a process of its own, so that its environment is not the other tests'.
    let url = server.url();
    let (child_state, child_home) = (state.clone(), home.clone());
    let child = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "journal::the_suites_default_journal_is_where_cleanup_looks",
            ])
            .env(SUITE_CHILD, url)
            .env("XDG_STATE_HOME", &child_state)
            .env("HOME", &child_home)
            .output()
            .expect("the child runs")
    });
    let output = child.await.expect("joins");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let left = Journal::left_in(&state.join("ecr-contract")).expect("listed");
    assert_eq!(left.len(), 1);
    assert!(repositories(&server) > 0);
    let output = tokio::task::spawn_blocking(move || {
        binary_in(&cwd, &state, &home)
            .arg("cleanup")
            .output()
            .expect("cleanup runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(repositories(&server), 0, "{stdout}");
    server.shutdown().await;
}
