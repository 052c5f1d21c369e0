//! The proxy's certificate authority: created at first use and kept (`ca.pem`, and
//! `ca-key.pem` readable by its owner only), so that clients told to trust it stay trusting
//! it across restarts; leaf certificates for the emulated host names, issued on the fly,
//! valid for a week on the wall clock, cached per name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// The certificate file inside the CA folder.
pub(crate) const CA_CERT: &str = "ca.pem";
/// The private key file inside the CA folder.
const CA_KEY: &str = "ca-key.pem";

/// How long a leaf certificate is valid (and how far back it starts, for skewed clocks).
const LEAF_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
const LEAF_BACKDATE: Duration = Duration::from_secs(3600);

/// The authority and its leaves.
pub(crate) struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    dir: PathBuf,
    leaves: Mutex<HashMap<String, (std::time::Instant, Arc<CertifiedKey>)>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("cannot {what} {}: {e}", path.display()))
}

/// The authority's own parameters: the same every time, so that a key loaded from disk
/// issues under the name of the certificate written with it.
fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "terra-mock local CA");
    dn.push(
        DnType::OrganizationName,
        "terra-rs (a local test emulator; trust it only for tests)",
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// Where the CA lives when the configuration does not say: the data directory's `ca/`,
/// else the per-user state folder.
pub(crate) fn default_dir(data_dir: Option<&Path>) -> PathBuf {
    if let Some(d) = data_dir {
        return d.join("ca");
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    state.join("terra-mock").join("ca")
}

impl Authority {
    /// Loads the authority of `dir`, creating it there first when there is none.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
        let (key, cert_pem) = if key_path.exists() && cert_path.exists() {
            let key_pem =
                std::fs::read_to_string(&key_path).map_err(|e| io("read", &key_path, e))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| io("read the key", &key_path, e))?;
            let cert =
                std::fs::read_to_string(&cert_path).map_err(|e| io("read", &cert_path, e))?;
            (key, cert)
        } else {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
            let key = KeyPair::generate().map_err(|e| io("make a key for", dir, e))?;
            let mut params = ca_params();
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(3650);
            let cert = params
                .self_signed(&key)
                .map_err(|e| io("make the certificate of", dir, e))?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, cert.pem()).map_err(|e| io("write", &cert_path, e))?;
            (key, cert.pem())
        };
        let der = rustls_pemfile_der(&cert_pem).ok_or_else(|| {
            io(
                "read the certificate",
                &cert_path,
                "no PEM certificate in it",
            )
        })?;
        Ok(Self {
            issuer: Issuer::new(ca_params(), key),
            cert_pem,
            cert_der: der,
            dir: dir.to_owned(),
            leaves: Mutex::default(),
        })
    }

    /// The CA certificate, PEM (what clients are told to trust).
    pub(crate) fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The file holding [`Authority::cert_pem`].
    pub(crate) fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    /// A leaf certificate for `name`, issued now or taken from the cache (renewed when
    /// half its life has passed).
    pub(crate) fn leaf(&self, name: &str) -> std::io::Result<Arc<CertifiedKey>> {
        let name = name.to_ascii_lowercase();
        if let Some((at, k)) = self
            .leaves
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            && at.elapsed() < LEAF_LIFETIME / 2
        {
            return Ok(k.clone());
        }
        let issued = Arc::new(self.issue(&name)?);
        self.leaves
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, (std::time::Instant::now(), issued.clone()));
        Ok(issued)
    }

    /// Issues a leaf for `name` (no cache).
    pub(crate) fn issue(&self, name: &str) -> std::io::Result<CertifiedKey> {
        let fail = |e: rcgen::Error| {
            std::io::Error::other(format!("cannot issue a certificate for {name}: {e}"))
        };
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(fail)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - LEAF_BACKDATE;
        params.not_after = now + LEAF_LIFETIME;
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der)
            .map_err(|e| std::io::Error::other(format!("cannot use the key of {name}: {e}")))?;
        Ok(CertifiedKey::new(
            vec![cert.der().clone(), self.cert_der.clone()],
            signing,
        ))
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io("write", path, e))?;
    f.write_all(bytes).map_err(|e| io("write", path, e))
}

/// The DER of the first certificate of a PEM text.
fn rustls_pemfile_der(pem: &str) -> Option<CertificateDer<'static>> {
    use base64::Engine as _;
    let body = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?;
    let b64: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(CertificateDer::from(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_is_kept_and_issues_for_the_name_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::open(dir.path()).unwrap();
        let pem = ca.cert_pem().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CA_KEY))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
        }
        let leaf = ca.leaf("openapi-cn.dji.com").unwrap();
        assert_eq!(leaf.cert.len(), 2, "leaf and CA");
        assert!(
            Arc::ptr_eq(&leaf, &ca.leaf("OPENAPI-CN.dji.com").unwrap()),
            "cached"
        );
        drop(ca);
        let again = Authority::open(dir.path()).unwrap();
        assert_eq!(again.cert_pem(), pem, "the same CA after a restart");
    }
}
