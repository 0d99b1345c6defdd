//! `release/build` and `release/verify` on a small scale: the suite's own
//! binary packaged and signed with a throwaway key, as a release manager
//! does with the real one. The archive holds what a bastion host needs,
//! the build is reproducible, and `verify` refuses a tampered archive, a
//! tampered checksum file and another key's signature, naming which.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn build(key: &Path, signers: &Path, out: &Path) -> (bool, String) {
    run(Command::new(repo().join("release/build"))
        .args(["--key".as_ref(), key.as_os_str(), "--allowed-signers".as_ref(), signers.as_os_str()])
        .args(["--out".as_ref(), out.as_os_str()])
        .args(["--binary", env!("CARGO_BIN_EXE_mandate")]))
}

fn verify(signers: &Path, dir: &Path) -> (bool, String) {
    run(Command::new(repo().join("release/verify")).arg("--allowed-signers").arg(signers).arg(dir))
}

#[test]
fn a_release_is_packaged_signed_reproducible_and_refused_when_tampered_with() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("release-key");
    let (ok, said) =
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "test"]).arg("-f").arg(&key));
    assert!(ok, "{said}");
    let public = std::fs::read_to_string(dir.path().join("release-key.pub")).unwrap();
    let signers = dir.path().join("allowed_signers");
    let key_text: Vec<&str> = public.split_whitespace().take(2).collect();
    std::fs::write(&signers, format!("release@mandate namespaces=\"mandate-release\" {}\n", key_text.join(" ")))
        .unwrap();

    let (ok, said) = run(Command::new(repo().join("release/build")).args(["--binary", env!("CARGO_BIN_EXE_mandate")]));
    assert!(!ok && said.contains("no readable release key"), "no key, no release: {said}");

    let first = dir.path().join("first");
    let (ok, said) = build(&key, &signers, &first);
    assert!(ok, "{said}");
    let name = format!("mandate-{}-", env!("CARGO_PKG_VERSION"));
    let archive = std::fs::read_dir(&first)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    assert!(archive.file_name().unwrap().to_string_lossy().starts_with(&name), "{}", archive.display());
    let (ok, said) = verify(&signers, &first);
    assert!(ok && said.contains("signed by the release key, and every file matches"), "{said}");

    // What is inside: the binary, its man page, completions, README, BUILDINFO, sums.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let (ok, said) = run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked));
    assert!(ok, "{said}");
    let root = std::fs::read_dir(&unpacked).unwrap().flatten().next().unwrap().path();
    let (ok, said) = run(Command::new(root.join("bin/mandate")).arg("--version"));
    assert!(ok && said.starts_with(&format!("mandate {}", env!("CARGO_PKG_VERSION"))), "{said}");
    let man = std::fs::read_to_string(root.join("share/man/man1/mandate.1")).unwrap();
    assert!(man.contains(".TH mandate"), "a man page");
    for completion in ["mandate.bash", "_mandate", "mandate.fish"] {
        let text = std::fs::read_to_string(root.join("share/completions").join(completion)).unwrap();
        assert!(text.contains("migrate"), "{completion} completes the commands");
    }
    assert!(root.join("README.md").exists());
    let info = std::fs::read_to_string(root.join("BUILDINFO")).unwrap();
    assert!(info.contains("runs on: Linux with GLIBC_2.") && info.contains("target: x86_64"), "{info}");
    let (ok, said) = run(Command::new("sha256sum").args(["--strict", "-c", "SHA256SUMS"]).current_dir(&root));
    assert!(ok && said.contains("bin/mandate: OK"), "the files inside match their sums: {said}");

    // Built again from the same commit: byte for byte the same archive.
    let second = dir.path().join("second");
    let (ok, said) = build(&key, &signers, &second);
    assert!(ok, "{said}");
    assert_eq!(
        std::fs::read_to_string(first.join("SHA256SUMS")).unwrap(),
        std::fs::read_to_string(second.join("SHA256SUMS")).unwrap(),
        "reproducible"
    );

    // Another key's signature: refused.
    let (ok, said) = verify(&repo().join("release/allowed_signers"), &first);
    assert!(!ok && said.contains("is not signed by the release key"), "{said}");

    // A changed archive: refused, naming the file.
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&archive, &bytes).unwrap();
    let (ok, said) = verify(&signers, &first);
    assert!(!ok && said.contains("does not match its signed checksum") && said.contains("FAILED"), "{said}");

    // A checksum file rewritten to match a changed archive: its signature fails.
    let (_, sums) = run(Command::new("sha256sum").arg(archive.file_name().unwrap()).current_dir(&first));
    std::fs::write(first.join("SHA256SUMS"), sums).unwrap();
    let (ok, said) = verify(&signers, &first);
    assert!(!ok && said.contains("is not signed by the release key"), "{said}");
}
