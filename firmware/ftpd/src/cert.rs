//! The certificate FTPS presents: the appliance's own
//! (`/data/sslcert/server.crt` and `server.key`), made self-signed on first
//! start when there is none. An existing certificate that cannot be used is
//! left alone (it belongs to the mail service) and a self-signed one in
//! ftpd's state folder stands in, with a log line saying so.

use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `server.crt` and `server.key` in `dir`.
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }

    fn exist(&self) -> bool {
        self.cert.exists() || self.key.exists()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: {reason}")]
    Unusable { path: PathBuf, reason: String },
    #[error("cannot make a certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Loads the pair the way the FTP server will, and checks they match.
pub fn check(files: &TlsFiles) -> Result<(), CertError> {
    server_config(files).map(drop)
}

/// The TLS set-up of the control and data connections: TLS 1.2 and 1.3,
/// sessions resumable (clients may resume the control connection's TLS
/// session on data connections, and some insist).
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, CertError> {
    let unusable = |path: &Path, reason: String| CertError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| unusable(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(unusable(&files.cert, "holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| unusable(&files.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| unusable(&files.cert, e.to_string()))?;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(256);
    if let Ok(ticketer) = rustls::crypto::ring::Ticketer::new() {
        config.ticketer = ticketer;
    }
    Ok(Arc::new(config))
}

/// The TLS set-up of data connections: the control connection's (so a
/// client may resume its session there) but sending no TLS 1.3 session
/// tickets. A client that only writes (an upload) never reads them, and
/// when it closes with them unread its kernel resets the connection,
/// which throws away the end of the upload before the server has read it
/// (lftp, seen here; libunftp turned TLS 1.3 off for it).
pub fn data_config(control: &Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut config = (**control).clone();
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// Writes a new self-signed certificate for `hostname`, valid for 20 years
/// (nobody renews the certificate of a box in a rack).
pub fn generate(files: &TlsFiles, hostname: &str) -> Result<(), CertError> {
    let gen_err = |e: rcgen::Error| CertError::Generate(e.to_string());
    let mut params = CertificateParams::new(vec![hostname.to_string()]).map_err(gen_err)?;
    params.distinguished_name.push(DnType::CommonName, hostname);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Mail appliance (self-signed)");
    let year = 1970
        + (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            / 31_556_952) as i32;
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 20, 1, 1);
    let key = KeyPair::generate().map_err(gen_err)?;
    let cert = params.self_signed(&key).map_err(gen_err)?;
    let write = |path: &Path, text: &str, mode: u32| {
        atomicfile::write_atomically(path, text.as_bytes(), mode).map_err(|source| {
            CertError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    };
    if let Some(dir) = files.key.parent() {
        create_private_dir(dir).map_err(|source| CertError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    // The key first: a certificate never points at a key that is not there.
    write(&files.key, &key.serialize_pem(), 0o600)?;
    write(&files.cert, &cert.pem(), 0o644)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The certificate to serve: the appliance's, generated when absent; when
/// it exists but cannot be used, `fallback` (generated when needed). `None`
/// when neither works: FTPS is then off, and the reason logged.
pub fn choose(appliance: &TlsFiles, fallback: &TlsFiles, hostname: &str) -> Option<TlsFiles> {
    if !appliance.exist() {
        match generate(appliance, hostname) {
            Ok(()) => log::info!(
                "made a self-signed certificate for {hostname} in {}",
                appliance.cert.display()
            ),
            Err(e) => log::error!("{e}"),
        }
    }
    match check(appliance) {
        Ok(()) => return Some(appliance.clone()),
        Err(e) => log::error!(
            "the appliance's certificate cannot be used for FTPS ({e}); using ftpd's own self-signed one"
        ),
    }
    if check(fallback).is_err()
        && let Err(e) = generate(fallback, hostname)
    {
        log::error!("FTPS is off: {e}");
        return None;
    }
    match check(fallback) {
        Ok(()) => Some(fallback.clone()),
        Err(e) => {
            log::error!("FTPS is off: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_on_first_start_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = TlsFiles::in_dir(&dir.path().join("sslcert"));
        let spare = TlsFiles::in_dir(&dir.path().join("state"));
        assert_eq!(choose(&mine, &spare, "mx1"), Some(mine.clone()));
        let first = std::fs::read(&mine.cert).expect("cert");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mine.key)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(choose(&mine, &spare, "mx1"), Some(mine.clone()));
        assert_eq!(
            std::fs::read(&mine.cert).expect("cert"),
            first,
            "not replaced"
        );
        assert!(!spare.cert.exists());
    }

    #[test]
    fn an_unusable_certificate_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = TlsFiles::in_dir(dir.path());
        std::fs::write(
            &mine.cert,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        )
        .expect("w");
        std::fs::write(&mine.key, "garbage").expect("w");
        assert!(check(&mine).is_err());
        let spare = TlsFiles::in_dir(&dir.path().join("state"));
        assert_eq!(choose(&mine, &spare, "mx1"), Some(spare.clone()));
        assert_eq!(std::fs::read_to_string(&mine.key).expect("key"), "garbage");
    }
}
