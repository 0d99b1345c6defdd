//! `tests/prerequisites`, the check `tests/run` makes before compiling: on a
//! machine where PostgreSQL and tmux cannot be found, it names each missing
//! tool and the package that brings it, and exits non-zero at once.

use std::path::Path;
use std::process::{Command, Output};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prerequisites");

/// A PATH with every program of this machine's usual places but `hidden`.
fn path_without(dir: &Path, hidden: &[&str]) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for place in [
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
        "/usr/sbin",
        "/sbin",
        &format!("{}/.cargo/bin", std::env::var("HOME").unwrap()),
    ] {
        let Ok(entries) = std::fs::read_dir(place) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let target = bin.join(&name);
            if hidden.contains(&name.to_string_lossy().as_ref()) || target.exists() {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), target).unwrap();
        }
    }
    bin.display().to_string()
}

fn check(path: &str, os_release: &Path) -> Output {
    Command::new("bash")
        .arg(SCRIPT)
        .env("PATH", path)
        .env("MANDATE_PG_SEARCH", "/nonexistent/postgresql/*/bin")
        .env("MANDATE_NO_INSTALL", "1")
        .env("MANDATE_OS_RELEASE", os_release)
        .output()
        .unwrap()
}

fn os_release(dir: &Path, id: &str) -> std::path::PathBuf {
    let file = dir.join(format!("os-release-{id}"));
    std::fs::write(&file, format!("ID={id}\n")).unwrap();
    file
}

#[test]
fn missing_postgresql_and_tmux_are_named_with_their_packages() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_without(dir.path(), &["initdb", "pg_ctl", "postgres", "tmux"]);
    for (id, install) in [
        ("debian", "apt-get install postgresql tmux"),
        ("fedora", "dnf install postgresql-server tmux"),
        ("arch", "pacman -S postgresql tmux"),
    ] {
        let out = check(&path, &os_release(dir.path(), id));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{id}: fails at once:\n{stderr}");
        for tool in ["initdb", "pg_ctl", "postgres", "tmux"] {
            assert!(stderr.contains(&format!("  {tool} ")), "{id}: names {tool}:\n{stderr}");
        }
        assert!(stderr.contains(install), "{id}: says how to install them:\n{stderr}");
        assert!(!stderr.contains("installing"), "{id}: installs nothing when it may not:\n{stderr}");
    }

    // An unknown system gets the command for each one it knows.
    let out = check(&path, &os_release(dir.path(), "plan9"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    for install in ["apt-get install", "dnf install", "pacman -S", "brew install postgresql@15 tmux"] {
        assert!(stderr.contains(install), "{install}:\n{stderr}");
    }
}

#[test]
fn a_machine_with_everything_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_without(dir.path(), &[]);
    let out = Command::new("bash")
        .arg(SCRIPT)
        .env("PATH", format!("{path}:{}", std::env::var("PATH").unwrap()))
        .env("MANDATE_NO_INSTALL", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "says nothing when nothing is missing");
}

#[test]
fn missing_monitors_are_named_with_their_packages() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_without(dir.path(), &["prometheus", "prometheus-alertmanager", "alertmanager"]);
    let out = check(&path, &os_release(dir.path(), "debian"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("  prometheus (package prometheus)"), "{stderr}");
    assert!(stderr.contains("alertmanager (package prometheus-alertmanager)"), "{stderr}");
    assert!(stderr.contains("apt-get install prometheus prometheus-alertmanager"), "{stderr}");
}
