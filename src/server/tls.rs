//! HTTPS: `mandate serve --tls-cert PEM --tls-key PEM` (rustls). The
//! certificate and key are read again on SIGHUP; a pair that does not load
//! leaves the one in force serving, and the log says why.

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot read the TLS key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the TLS certificate {cert} and key {key} do not go together: {message}")]
    Pair { cert: PathBuf, key: PathBuf, message: String },
    #[error("cannot use the client CA {path}: {message}")]
    ClientCa { path: PathBuf, message: String },
}

/// The SHA-256 of a connection's client certificate (DER), when it gave one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCert(pub [u8; 32]);

/// The hex SHA-256 of the first certificate (DER) in a PEM file: what
/// `mandate token create --client-cert` binds a token to.
pub fn certificate_digest(pem: &Path) -> Result<String, String> {
    let cert = CertificateDer::from_pem_file(pem)
        .map_err(|e| format!("cannot read the certificate {}: {e}", pem.display()))?;
    Ok(hex::encode(Sha256::digest(cert.as_ref())))
}

/// The digest of a peer's certificate.
pub fn client_cert(der: &CertificateDer<'_>) -> ClientCert {
    ClientCert(Sha256::digest(der.as_ref()).into())
}

#[derive(Debug)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    /// Clients are asked for a certificate signed by this CA (optional for them).
    client_ca: Option<PathBuf>,
    config: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Arc<Tls>, TlsError> {
        let config = server_config(cert, key, client_ca)?;
        Ok(Arc::new(Tls {
            cert: cert.to_owned(),
            key: key.to_owned(),
            client_ca: client_ca.map(Path::to_owned),
            config: RwLock::new(config),
        }))
    }

    /// Reads the files again; on error the pair in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.cert, &self.key, self.client_ca.as_deref())?;
        *self.config.write() = config;
        Ok(())
    }

    /// For one connection: the pair in force when it opened.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.read().clone())
    }
}

fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| TlsError::Certificate { path: cert.to_owned(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Certificate { path: cert.to_owned(), message: "no certificate in it (PEM)".into() });
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.to_owned(), message: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pair { cert: cert.to_owned(), key: key.to_owned(), message: e.to_string() })?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let ca_error = |message: String| TlsError::ClientCa { path: path.to_owned(), message };
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(path).map_err(|e| ca_error(e.to_string()))? {
                roots.add(ca.map_err(|e| ca_error(e.to_string()))?).map_err(|e| ca_error(e.to_string()))?;
            }
            // Asked, not required: people's tokens need no certificate; a
            // token bound to one is refused without it.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| ca_error(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, private).map_err(|e| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        message: e.to_string(),
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
