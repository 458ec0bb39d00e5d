//! Where `check` journals what it creates: a file of each run's own in the state directory,
//! never in the working directory; an interrupted run says where it is, and `cleanup` without
//! arguments removes what earlier runs left there.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ecr_contract::check::{Entry, HeldJournal, Journal};
use ecr_contract::serve::{Fault, Server, always, spawn};
use ecr_contract::wire::Operation;

use crate::support::broken::reference_config;
use crate::support::{binary_in, files_in, tempdir};

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
    let dir = home.join(".local/state/ecr-contract");
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
