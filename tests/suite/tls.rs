//! HTTPS on a real `mandate serve`: a client trusting the private CA gets
//! in, one that does not is refused; SIGHUP swaps the certificate for new
//! connections, and a pair that does not load leaves the old one serving.
//! The console's poller and the SDK reach the server through `--ca-file`.

use crate::common::{self, create_token, serve_binary_with, signal};
use mandate::console::app::Action;
use mandate::console::config::Secret;
use mandate::console::poller::Poller;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA: (certificate, key) file names in `dir`.
fn ca(dir: &Path, name: &str) -> (String, String) {
    let (cert, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    (cert, key)
}

/// A server certificate for 127.0.0.1 signed by `ca`, with `serial`.
fn leaf(dir: &Path, ca: &(String, String), name: &str, serial: u32) -> (PathBuf, PathBuf) {
    signed(dir, ca, name, serial, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth")
}

/// A client certificate signed by `ca`.
fn client(dir: &Path, ca: &(String, String), name: &str, serial: u32) -> (PathBuf, PathBuf) {
    signed(dir, ca, name, serial, "extendedKeyUsage=clientAuth")
}

fn signed(dir: &Path, ca: &(String, String), name: &str, serial: u32, usage: &str) -> (PathBuf, PathBuf) {
    let (cert, key, csr, ext) =
        (format!("{name}.pem"), format!("{name}.key"), format!("{name}.csr"), format!("{name}.ext"));
    std::fs::write(dir.join(&ext), format!("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n{usage}\n")).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=mandate",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca.0,
            "-CAkey",
            &ca.1,
            "-set_serial",
            &serial.to_string(),
            "-days",
            "2",
            "-out",
            &cert,
            "-extfile",
            &ext,
        ],
    );
    (dir.join(cert), dir.join(key))
}

/// `mandate serve` over HTTPS with `cert` and `key`, on SQLite in `d`, and
/// an admin token for it.
fn https_server(d: &Path, cert: &Path, key: &Path) -> (common::Served, String) {
    let tokens = d.join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let url = format!("sqlite://{}", d.join("m.db").display());
    let args = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    (serve_binary_with(&url, &tokens, "127.0.0.1:0", &args), admin)
}

/// The certificate the server presents to a new connection.
async fn presented(addr: &str, ca_file: &Path) -> Vec<u8> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der(pem: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(pem).unwrap().to_vec()
}

#[tokio::test]
async fn https_with_a_private_ca_and_a_certificate_swapped_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let authority = ca(d, "ca");
    let stranger = ca(d, "other-ca");
    let first = leaf(d, &authority, "first", 1001);
    let second = leaf(d, &authority, "second", 2002);
    let (cert, key) = (d.join("server.pem"), d.join("server.key"));
    std::fs::copy(&first.0, &cert).unwrap();
    std::fs::copy(&first.1, &key).unwrap();
    let (served, admin) = https_server(d, &cert, &key);
    let base = format!("https://{}", served.addr);
    let ca_file = d.join(&authority.0);

    // The SDK, trusting the private CA, gets in.
    let sdk = mandate::sdk::Client::with_ca_file(&base, &admin, Some(&ca_file)).unwrap();
    assert_eq!(sdk.whoami().await.unwrap().name, "root");

    // Without it, or trusting another CA, the certificate is refused.
    let system = mandate::sdk::http_client_builder().build().unwrap();
    let err = system.get(format!("{base}/healthz")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let wrong = mandate::sdk::http_client_trusting(Some(&d.join(&stranger.0))).unwrap().build().unwrap();
    assert!(wrong.get(format!("{base}/healthz")).send().await.is_err());
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = system.get(format!("http://{}/healthz", served.addr)).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    // The console's poller, with the CA, learns who the operator is.
    let client = mandate::sdk::http_client_trusting(Some(&ca_file)).unwrap().build().unwrap();
    let (tx, mut actions) = tokio::sync::mpsc::channel(64);
    let _requests = Poller::spawn_with(&base, Secret::new(&admin), client, tx);
    let who = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Some(Action::Whoami(who, _)) = actions.recv().await {
                return who;
            }
        }
    })
    .await
    .expect("the console reaches the server over HTTPS");
    assert_eq!(who.name, "root");

    // SIGHUP: new connections get the new certificate.
    assert_eq!(presented(&served.addr, &ca_file).await, der(&first.0));
    std::fs::copy(&second.0, &cert).unwrap();
    std::fs::copy(&second.1, &key).unwrap();
    signal(&served.child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while presented(&served.addr, &ca_file).await != der(&second.0) {
        assert!(Instant::now() < deadline, "the new certificate is served after SIGHUP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A pair that does not load: the one in force stays, and the log says so.
    std::fs::write(&cert, "not a certificate").unwrap();
    signal(&served.child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !served.log.lock().unwrap().iter().any(|l| l.contains("TLS certificate not reloaded")) {
        assert!(Instant::now() < deadline, "the failed reload is logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(presented(&served.addr, &ca_file).await, der(&second.0));
    assert_eq!(sdk.whoami().await.unwrap().name, "root");
    served.stop();
}

#[test]
fn a_certificate_that_cannot_be_read_stops_the_server_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    create_token(&tokens, "root", "admin");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens-file", &tokens])
        .args(["--database-url", &format!("sqlite://{}", dir.path().join("m.db").display())])
        .args(["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    let half = std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
        .args(["serve", "--tls-cert", "/tmp/c.pem"])
        .output()
        .unwrap();
    assert!(!half.status.success());
    assert!(String::from_utf8_lossy(&half.stderr).contains("--tls-key"));
}

/// An agent token bound to a client certificate is accepted only over a
/// connection that presents it; other tokens need none.
#[tokio::test]
async fn an_agent_token_bound_to_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let authority = ca(d, "ca");
    let stranger = ca(d, "other-ca");
    let server = leaf(d, &authority, "server", 1);
    let deployer = client(d, &authority, "deployer", 2);
    let imposter = client(d, &authority, "imposter", 3);
    let outsider = client(d, &stranger, "outsider", 4);
    let tokens = d.join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let out = std::process::Command::new(common::BIN)
        .args(["token", "create", "--name", "deploy-fleet", "--role", "agent", "--tokens-file", &tokens])
        .args(["--client-cert", deployer.0.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bound = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let url = format!("sqlite://{}", d.join("m.db").display());
    let ca_file = d.join(&authority.0);
    let served = serve_binary_with(
        &url,
        &tokens,
        "127.0.0.1:0",
        &[
            "--tls-cert",
            server.0.to_str().unwrap(),
            "--tls-key",
            server.1.to_str().unwrap(),
            "--tls-client-ca",
            ca_file.to_str().unwrap(),
        ],
    );
    let runs = format!("https://{}/api/v1/runs", served.addr);
    let with = |identity: Option<&(PathBuf, PathBuf)>| {
        let mut builder = mandate::sdk::http_client_trusting(Some(&ca_file)).unwrap();
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    };
    let status = |client: reqwest::Client, token: String| {
        let runs = runs.clone();
        async move { client.get(&runs).bearer_auth(token).send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(status(with(Some(&deployer)), bound.clone()).await.unwrap(), 200, "its own certificate");
    assert_eq!(status(with(None), bound.clone()).await.unwrap(), 401, "the token alone is not enough");
    assert_eq!(status(with(Some(&imposter)), bound.clone()).await.unwrap(), 401, "another certificate of the CA");
    assert!(status(with(Some(&outsider)), bound.clone()).await.is_err(), "a certificate the CA did not sign");
    assert_eq!(status(with(None), admin.clone()).await.unwrap(), 200, "a person's token needs no certificate");
    served.stop();
}

/// The Python and TypeScript SDKs, installed as their users install them,
/// trust a private CA named by MANDATE_CA_FILE, and without it refuse the
/// server's certificate with a clear transport error.
#[tokio::test]
async fn the_python_and_typescript_sdks_trust_a_private_ca() {
    use crate::sdk_conformance::{node_project, python, run, which};
    let test = "the_python_and_typescript_sdks_trust_a_private_ca";
    if common::skip_without("python3, node and npm", which("python3") && which("node") && which("npm"), test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let authority = ca(d, "ca");
    let (cert, key) = leaf(d, &authority, "server", 3003);
    let (served, admin) = https_server(d, &cert, &key);
    let base = format!("https://{}", served.addr);
    let ca_file = d.join(&authority.0);
    let python = python().await;
    let project = node_project().await;
    let py = "import mandate\ntry:\n    print(mandate.Client().whoami()['name'])\nexcept mandate.MandateError as e:\n    print(type(e).__name__, e)\n";
    let js = "import { Client, MandateError } from '@mandate/sdk';\ntry { console.log((await new Client().whoami()).name); } catch (e) { if (!(e instanceof MandateError)) throw e; console.log(e.name, e.message); }";
    for trusted in [true, false] {
        let mut py_run = std::process::Command::new(&python);
        py_run.args(["-c", py]);
        let mut js_run = std::process::Command::new("node");
        js_run.args(["--input-type=module", "-e", js]).current_dir(&project);
        for command in [&mut py_run, &mut js_run] {
            command.env("MANDATE_URL", &base).env("MANDATE_TOKEN", &admin).env_remove("MANDATE_CA_FILE");
            if trusted {
                command.env("MANDATE_CA_FILE", &ca_file);
            }
        }
        for (sdk, command) in [("python", py_run), ("typescript", js_run)] {
            let said = String::from_utf8_lossy(&run(command).await.stdout).trim().to_owned();
            if trusted {
                assert_eq!(said, "root", "{sdk} trusting the private CA");
            } else {
                assert!(said.starts_with("TransportError cannot reach the Mandate API at https://"), "{sdk}: {said}");
            }
        }
    }
}
