//! The proxy's certificate authority: created at first use and kept (`ca.pem`, and
//! `ca-key.pem` readable by its owner only), so that clients told to trust it stay trusting
//! it across restarts; leaf certificates for the emulated host names, issued on demand,
//! valid for a week on the wall clock (the proxy caches them, bounded).
//!
//! The authority can vouch only for what the emulator emulates: its certificate carries
//! X.509 name constraints (RFC 5280 4.2.1.10) permitting DJI's, AWS's and Aliyun's
//! domains and the `--proxy-host` names, and excluding every IP address. A client that
//! trusts it (OpenSSL, Go, Node, rustls) refuses anything else it might sign, even if its
//! key were read by someone else. The names are recorded beside it (`names`); when they
//! change, a new authority is issued and the old files are kept aside.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// The certificate file inside the CA folder.
pub(crate) const CA_CERT: &str = "ca.pem";
/// The private key file inside the CA folder.
const CA_KEY: &str = "ca-key.pem";
/// The domains the certificate's name constraints permit, one per line, sorted.
const CA_NAMES: &str = "names";

/// The domains every authority may vouch for: DJI's API hosts and the S3 and OSS names.
pub(crate) const EMULATED_DOMAINS: [&str; 4] = [
    "aliyuncs.com",
    "amazonaws.com",
    "amazonaws.com.cn",
    "dji.com",
];

/// How long a leaf certificate is valid (and how far back it starts, for skewed clocks).
pub(crate) const LEAF_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
const LEAF_BACKDATE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The authority.
pub(crate) struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    dir: PathBuf,
    permitted: Vec<String>,
    replaced: Option<PathBuf>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("dir", &self.dir)
            .field("permitted", &self.permitted)
            .finish_non_exhaustive()
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("cannot {what} {}: {e}", path.display()))
}

/// Whether `name` is a DNS host name a certificate may be issued for: lower-case labels of
/// letters, digits and inner hyphens, 1 to 63 bytes each, at least two, at most 253 bytes
/// in all; no wildcard, no empty label, no IP address.
pub(crate) fn dns_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

/// The domains an authority for `extra` (`--proxy-host` names, `*.domain` patterns
/// included) permits: the emulated domains and each extra name, sorted, without those a
/// broader one covers.
pub(crate) fn permitted(extra: &[String]) -> Vec<String> {
    let mut all: Vec<String> = EMULATED_DOMAINS.iter().map(|d| (*d).to_owned()).collect();
    for e in extra {
        let e = e.trim().trim_end_matches('.').to_ascii_lowercase();
        let e = e.strip_prefix("*.").unwrap_or(&e).to_owned();
        if dns_name(&e) {
            all.push(e);
        }
    }
    all.sort();
    all.dedup();
    let covered =
        |d: &str, all: &[String]| all.iter().any(|o| o != d && d.ends_with(&format!(".{o}")));
    let keep: Vec<String> = all.iter().filter(|d| !covered(d, &all)).cloned().collect();
    keep
}

/// The authority's own parameters: the same every time for the same names, so that a
/// key loaded from disk issues under the name of the certificate written with it.
fn ca_params(permitted: &[String]) -> CertificateParams {
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
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted
            .iter()
            .map(|d| GeneralSubtree::DnsName(d.clone()))
            .collect(),
        excluded_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([0; 4], [0; 4])),
            GeneralSubtree::IpAddress(CidrSubnet::V6([0; 16], [0; 16])),
        ],
    });
    p
}

/// Where the CA lives when the configuration does not say: the data directory's `ca/`,
/// else `terra-mock/ca` in the per-user state folder (created `0700`).
pub(crate) fn default_dir(data_dir: Option<&Path>) -> std::io::Result<PathBuf> {
    if let Some(d) = data_dir {
        return Ok(d.join("ca"));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let ours = state.join("terra-mock");
    crate::private::dir(&ours)?;
    Ok(ours.join("ca"))
}

/// How [`Authority::open`] treats an authority whose names differ from those asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnChange {
    /// Issue a new one (the old files kept aside): `serve`.
    Reissue,
    /// Use it as it is: `terra-mock ca`, which only prints what is there.
    Keep,
}

impl Authority {
    /// Loads the authority of `dir` for the emulated domains and `extra`, creating it
    /// when there is none (or, with [`OnChange::Reissue`], when it was made for other
    /// names). A key others may read is refused.
    pub(crate) fn open(dir: &Path, extra: &[String], on_change: OnChange) -> std::io::Result<Self> {
        crate::private::dir(dir)?;
        let (cert_path, key_path, names_path) =
            (dir.join(CA_CERT), dir.join(CA_KEY), dir.join(CA_NAMES));
        crate::private::check(&key_path, "the private key of terra-mock's authority")?;
        let wanted = permitted(extra);
        let recorded: Option<Vec<String>> = std::fs::read_to_string(&names_path)
            .ok()
            .map(|t| t.lines().map(str::to_owned).collect());
        let complete = key_path.exists() && cert_path.exists();
        let mut replaced = None;
        if complete && (recorded.as_ref() == Some(&wanted) || on_change == OnChange::Keep) {
            let key_pem =
                std::fs::read_to_string(&key_path).map_err(|e| io("read", &key_path, e))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| io("read the key", &key_path, e))?;
            let cert_pem =
                std::fs::read_to_string(&cert_path).map_err(|e| io("read", &cert_path, e))?;
            let permitted = recorded.unwrap_or_default();
            return Self::new(dir, key, cert_pem, permitted, None);
        }
        if complete {
            // Made for other names (or before name constraints): keep it aside.
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for p in [&cert_path, &key_path, &names_path] {
                if p.exists() {
                    let aside = p.with_file_name(format!(
                        "{}.replaced-{stamp}",
                        p.file_name().unwrap_or_default().to_string_lossy()
                    ));
                    std::fs::rename(p, &aside).map_err(|e| io("move aside", p, e))?;
                    if p == &cert_path {
                        replaced = Some(aside);
                    }
                }
            }
        }
        let key = KeyPair::generate().map_err(|e| io("make a key for", dir, e))?;
        let mut params = ca_params(&wanted);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(3650);
        let cert = params
            .self_signed(&key)
            .map_err(|e| io("make the certificate of", dir, e))?;
        crate::private::write(&key_path, key.serialize_pem().as_bytes())?;
        crate::private::write_public(&cert_path, cert.pem().as_bytes())?;
        crate::private::write_public(&names_path, (wanted.join("\n") + "\n").as_bytes())?;
        if let Some(old) = &replaced {
            tracing::warn!(
                new = %cert_path.display(),
                old = %old.display(),
                permitted = %wanted.join(" "),
                "terra-mock's proxy has a new certificate authority (the names it may vouch \
                 for changed): clients must trust the new file; the old one is kept aside"
            );
        }
        Self::new(dir, key, cert.pem(), wanted, replaced)
    }

    fn new(
        dir: &Path,
        key: KeyPair,
        cert_pem: String,
        permitted: Vec<String>,
        replaced: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let cert_path = dir.join(CA_CERT);
        let der = pem_der(&cert_pem).ok_or_else(|| {
            io(
                "read the certificate",
                &cert_path,
                "no PEM certificate in it",
            )
        })?;
        Ok(Self {
            issuer: Issuer::new(ca_params(&permitted), key),
            cert_pem,
            cert_der: der,
            dir: dir.to_owned(),
            permitted,
            replaced,
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

    /// The domains it may vouch for.
    pub(crate) fn permitted(&self) -> &[String] {
        &self.permitted
    }

    /// The previous certificate, kept aside, when this authority replaced it.
    pub(crate) fn replaced(&self) -> Option<&Path> {
        self.replaced.as_deref()
    }

    /// Issues a leaf for `name`: a DNS host name under the permitted domains, else an
    /// error (never a wildcard, an empty label or an address).
    pub(crate) fn issue(&self, name: &str) -> std::io::Result<CertifiedKey> {
        let refuse = |why: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no certificate is issued for {name:?}: {why}"),
            )
        };
        if !dns_name(name) {
            return Err(refuse("not a lower-case DNS host name"));
        }
        if !self
            .permitted
            .iter()
            .any(|d| name == d || name.ends_with(&format!(".{d}")))
        {
            return Err(refuse("outside the names this authority may vouch for"));
        }
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

    /// Signs a leaf for any name, bypassing [`Authority::issue`]'s checks: what someone
    /// holding the key could do. Only for the tests that show clients refuse it.
    #[cfg(test)]
    pub(crate) fn forge(&self, name: &str) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.signed_by(&key, &self.issuer).unwrap().der().clone()
    }
}

/// The DER of the first certificate of a PEM text.
fn pem_der(pem: &str) -> Option<CertificateDer<'static>> {
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
    use std::sync::Arc;

    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    fn verifier(ca: &Authority) -> Arc<rustls::client::WebPkiServerVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert_der.clone()).unwrap();
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap()
    }

    fn verify(ca: &Authority, leaf: &CertificateDer<'static>, name: &str) -> Result<(), String> {
        verifier(ca)
            .verify_server_cert(
                leaf,
                &[],
                &ServerName::try_from(name.to_owned()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_authority_is_kept_and_issues_for_the_name_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap();
        let pem = ca.cert_pem().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode(&dir.path().join(CA_KEY)),
                0o600,
                "the key is its owner's only"
            );
            assert_eq!(mode(dir.path()), 0o700);
        }
        let leaf = ca.issue("openapi-cn.dji.com").unwrap();
        assert_eq!(leaf.cert.len(), 2, "leaf and CA");
        verify(&ca, &leaf.cert[0], "openapi-cn.dji.com").unwrap();
        drop(ca);
        let again = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap();
        assert_eq!(again.cert_pem(), pem, "the same CA after a restart");
        assert!(again.replaced().is_none());
    }

    /// Issue 31, row 8: a wildcard leaf was issued for `*.s3.us-east-1.amazonaws.com`.
    #[test]
    fn no_certificate_for_a_wildcard_an_empty_label_or_an_address() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap();
        for bad in [
            "*.s3.us-east-1.amazonaws.com",
            "*.oss-cn-hangzhou.aliyuncs.com",
            "a..amazonaws.com",
            ".dji.com",
            "openapi-cn.dji.com.",
            "OPENAPI-CN.DJI.COM",
            "-x.dji.com",
            "x_y.dji.com",
            "127.0.0.1",
            "dji",
            "www.example.com",
            "amazonaws.com.evil.example",
        ] {
            assert!(ca.issue(bad).is_err(), "{bad}");
        }
        ca.issue("terra-mock-s3.s3.us-east-1.amazonaws.com")
            .unwrap();
    }

    /// Issue 31, row 9: the CA could sign for any site. Its name constraints, read back by
    /// rustls-webpki (as OpenSSL, Go and Node read them), refuse what it did not emulate,
    /// even signed with its own key.
    #[test]
    fn the_authority_can_vouch_only_for_what_it_emulates() {
        let dir = tempfile::tempdir().unwrap();
        let extra = ["*.corp.test".to_owned(), "files.lab.test".to_owned()];
        let ca = Authority::open(dir.path(), &extra, OnChange::Reissue).unwrap();
        assert_eq!(
            ca.permitted(),
            [
                "aliyuncs.com",
                "amazonaws.com",
                "amazonaws.com.cn",
                "corp.test",
                "dji.com",
                "files.lab.test"
            ]
        );
        for ok in [
            "openapi-us.dji.com",
            "b.s3.us-east-1.amazonaws.com",
            "storage.corp.test",
            "files.lab.test",
        ] {
            verify(&ca, &ca.forge(ok), ok).unwrap();
        }
        for (name, leaf) in [
            ("www.example.com", ca.forge("www.example.com")),
            ("accounts.google.com", ca.forge("accounts.google.com")),
            ("other.lab.test", ca.forge("other.lab.test")),
        ] {
            let e = verify(&ca, &leaf, name).unwrap_err();
            assert!(
                e.to_lowercase().contains("name constraint") || e.contains("NameConstraint"),
                "{name}: {e}"
            );
        }
    }

    /// When the names change, a new authority replaces the old, which is kept aside; an
    /// authority made before name constraints (no `names` file) is replaced too.
    #[test]
    fn new_names_mean_a_new_authority_and_the_old_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap();
        let kept = Authority::open(dir.path(), &["x.test".into()], OnChange::Keep).unwrap();
        assert_eq!(
            kept.cert_pem(),
            first.cert_pem(),
            "`terra-mock ca` changes nothing"
        );
        let second = Authority::open(dir.path(), &["x.test".into()], OnChange::Reissue).unwrap();
        assert_ne!(second.cert_pem(), first.cert_pem());
        let old = second.replaced().expect("the old one kept aside");
        assert_eq!(std::fs::read_to_string(old).unwrap(), first.cert_pem());
        std::fs::remove_file(dir.path().join(CA_NAMES)).unwrap();
        let third = Authority::open(dir.path(), &["x.test".into()], OnChange::Reissue).unwrap();
        assert_ne!(third.cert_pem(), second.cert_pem());
    }

    /// Issue 31, row 7: a left-over key readable by others was written into and used.
    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(CA_KEY);
        std::fs::write(&key, "left over").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("chmod 600 {}", key.display())),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&key).unwrap(),
            "left over",
            "nothing written into it"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ca = Authority::open(dir.path(), &[], OnChange::Reissue).unwrap();
        assert!(ca.cert_pem().contains("BEGIN CERTIFICATE"));
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
