//! The test support's provisioning of the Python tools (`support::python::Venv`), driven with
//! a stand-in for `python3` that records each call: the stamp, the lock, the failures.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::python::Venv;
use crate::support::tempdir;

/// A stand-in `python3` in `dir`: `-m venv ROOT` copies itself to `ROOT/bin/python`, and
/// `-m pip install` (slowly, to widen any race) creates the tools, or fails when `pip_fails`.
/// Every call is appended to `dir/calls.log`.
fn fake_python(dir: &Path, pip_fails: bool) -> PathBuf {
    let log = dir.join("calls.log");
    let pip = match pip_fails {
        true => {
            "echo 'ERROR: Could not find a version that satisfies the requirement boto3==1.43.11' >&2; exit 1"
        }
        false => "sleep 0.3; touch \"$(dirname \"$0\")/aws\" \"$(dirname \"$0\")/moto_server\"",
    };
    let script = format!(
        "#!/bin/sh\necho \"$1 $2\" >> '{}'\ncase \"$1 $2\" in\n  '-m venv') mkdir -p \"$3/bin\" && cp \"$0\" \"$3/bin/python\" ;;\n  '-m pip') {pip} ;;\nesac\n",
        log.display()
    );
    let path = dir.join("python3");
    std::fs::write(&path, script).expect("written");
    let status = std::process::Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .expect("chmod runs");
    assert!(status.success());
    path
}

/// A fresh world: a requirements file, the stand-in, and an environment root not yet made.
fn world(name: &str, pip_fails: bool) -> (Venv, PathBuf) {
    let dir = tempdir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a dir");
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, "boto3==1.43.11\n").expect("written");
    let venv = Venv {
        root: dir.join("py"),
        requirements,
        python: fake_python(&dir, pip_fails),
    };
    (venv, dir.join("calls.log"))
}

fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_environment_is_built_once_and_again_only_when_the_requirements_change() {
    let (venv, log) = world("stamp", false);
    let hash = venv.requirements_hash().expect("a hash");
    assert!(!venv.is_fresh(&hash), "nothing built yet");
    assert_eq!(venv.ensure().expect("built"), venv.root.join("bin"));
    assert!(venv.is_fresh(&hash));
    venv.ensure().expect("still built");
    assert_eq!(
        calls(&log),
        ["-m venv", "-m pip"],
        "the second call built nothing"
    );

    std::fs::write(&venv.requirements, "boto3==1.43.12\n").expect("written");
    let changed = venv.requirements_hash().expect("a hash");
    assert_ne!(changed, hash);
    assert!(
        !venv.is_fresh(&changed),
        "the stamp names the old requirements"
    );
    venv.ensure().expect("rebuilt");
    assert_eq!(
        calls(&log),
        ["-m venv", "-m pip", "-m pip"],
        "the environment is kept and the new requirements installed"
    );

    // A tool gone (a half-deleted environment) is not fresh either, whatever the stamp says.
    std::fs::remove_file(venv.root.join("bin/moto_server")).expect("removed");
    assert!(!venv.is_fresh(&changed));
}

#[test]
fn concurrent_provisioners_wait_for_the_lock_and_build_once() {
    let (venv, log) = world("lock", false);
    // Hold the lock as another process would while it builds.
    let held = File::create(venv.root.with_extension("lock")).expect("a lock file");
    held.lock().expect("locked");
    let provisioners: Vec<_> = (0..3)
        .map(|_| {
            let venv = venv.clone();
            std::thread::spawn(move || venv.ensure())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        calls(&log).is_empty(),
        "nothing builds while another holds the lock: {:?}",
        calls(&log)
    );
    drop(held);
    for provisioner in provisioners {
        let bin = provisioner.join().expect("no panic").expect("built");
        assert!(bin.join("moto_server").exists());
    }
    assert_eq!(calls(&log), ["-m venv", "-m pip"], "built exactly once");
}

#[test]
fn a_missing_python_or_an_unreachable_index_fails_saying_what_to_do() {
    let (mut venv, _) = world("no-python", false);
    venv.python = venv.root.with_file_name("no-such-python3");
    let error = venv.ensure().expect_err("no interpreter");
    assert!(
        error.contains("no-such-python3 not found") && error.contains("apt-get install python3"),
        "{error}"
    );

    let (venv, log) = world("no-index", true);
    let error = venv.ensure().expect_err("pip fails");
    assert!(
        error.contains("is the package index reachable?")
            && error.contains("Could not find a version that satisfies the requirement"),
        "{error}"
    );
    assert!(!venv.is_fresh(&venv.requirements_hash().expect("a hash")));
    // The next attempt tries again rather than trusting the failed one.
    let _ = venv.ensure();
    assert_eq!(calls(&log), ["-m venv", "-m pip", "-m pip"]);
}
