//! A minimal keep-alive HTTP/1.1 client, the gateway signature and SigV4.

use super::*;

// ---- a minimal HTTP/1.1 client ------------------------------------------------------

/// Anything a connection runs over: TCP, or TLS inside a proxy's tunnel.
pub(crate) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Where a connection goes: straight to the server, or through its proxy (`CONNECT name:443`,
/// then TLS under the emulator's authority).
#[derive(Clone)]
pub(crate) enum Route {
    Direct(String),
    Tunnel {
        proxy: String,
        name: String,
        tls: Arc<rustls::ClientConfig>,
    },
}

pub(crate) struct Conn {
    pub(crate) io: tokio::io::BufReader<Box<dyn Io>>,
    /// The `Host` header of API requests (and of S3 requests on a direct connection).
    pub(crate) host: String,
    /// Whether it runs through the proxy (S3 requests then name the S3 host).
    pub(crate) tunneled: bool,
    route: Route,
    /// The server said it closes the connection after this response (HTTP/1.0 servers
    /// such as moto's): the next request reconnects.
    pub(crate) closed: bool,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Conn {
    pub(crate) async fn open(addr: &str) -> Self {
        Self::connect(&Route::Direct(addr.to_owned())).await
    }

    pub(crate) async fn connect(route: &Route) -> Self {
        Self::try_connect(route).await.unwrap()
    }

    pub(crate) async fn try_connect(route: &Route) -> std::io::Result<Self> {
        let (io, host, tunneled): (Box<dyn Io>, String, bool) = match route {
            Route::Direct(addr) => {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                (Box::new(s), addr.clone(), false)
            }
            Route::Tunnel { proxy, name, tls } => (
                Box::new(tunnel(proxy, name, tls).await?),
                name.clone(),
                true,
            ),
        };
        Ok(Self {
            io: tokio::io::BufReader::with_capacity(64 * 1024, io),
            host,
            tunneled,
            route: route.clone(),
            closed: false,
        })
    }

    /// The `Host` of S3 requests for a token: the server's address, or through the proxy
    /// the S3 name of the token's region (path style).
    pub(crate) fn s3_host(&self, token: &StsToken) -> String {
        if self.tunneled {
            format!("s3.{}.amazonaws.com", token.region)
        } else {
            self.host.clone()
        }
    }

    pub(crate) async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let host = self.host.clone();
        self.send_as(&host, method, target, headers, body).await
    }

    /// Sends one request with `host` as its `Host` header.
    pub(crate) async fn send_as(
        &mut self,
        host: &str,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        if self.closed {
            *self = Self::try_connect(&self.route).await?;
        }
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            req.push_str(n);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let w = self.io.get_mut();
        if body.len() < 16 * 1024 {
            let mut all = req.into_bytes();
            all.extend_from_slice(body);
            w.write_all(&all).await?;
        } else {
            w.write_all(req.as_bytes()).await?;
            w.write_all(body).await?;
        }
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = None;
        let mut close = line.starts_with("HTTP/1.0");
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().ok();
                } else if n.eq_ignore_ascii_case("connection") {
                    close = v.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = Vec::new();
        match (method, len) {
            ("HEAD", _) => {}
            (_, Some(n)) => {
                body.resize(n, 0);
                self.io.read_exact(&mut body).await?;
            }
            (_, None) => {
                self.io.read_to_end(&mut body).await?;
                close = true;
            }
        }
        self.closed = close;
        Ok(Reply { status, body })
    }
}

/// `CONNECT name:443` through `proxy`, then TLS for `name` trusting what `tls` trusts.
pub(crate) async fn tunnel(
    proxy: &str,
    name: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut s = TcpStream::connect(proxy).await?;
    s.set_nodelay(true)?;
    s.write_all(format!("CONNECT {name}:443 HTTP/1.1\r\nhost: {name}:443\r\n\r\n").as_bytes())
        .await?;
    // The answer is a status line and headers, no body; read it byte by byte so that
    // nothing of the TLS stream is taken.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if s.read(&mut b).await? == 0 || head.len() > 8192 {
            return Err(std::io::Error::other("the proxy closed the tunnel"));
        }
        head.push(b[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") && !head.starts_with(b"HTTP/1.0 200") {
        return Err(std::io::Error::other(format!(
            "CONNECT {name}: {}",
            String::from_utf8_lossy(&head).lines().next().unwrap_or("")
        )));
    }
    let server =
        rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(std::io::Error::other)?;
    tokio_rustls::TlsConnector::from(tls.clone())
        .connect(server, s)
        .await
}

/// A TLS client configuration trusting only the PEM certificate `ca_pem`.
pub(crate) fn trusting(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Signs an API request as the gateway wants it.
pub(crate) fn api_headers(
    ak: &str,
    sk: &str,
    method: &str,
    target: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let s = sign(
        &SignableRequest::new(method, target, body),
        &Credentials::new(ak, sk),
        &SigningParams::new(SystemTime::now()),
    );
    let mut h: Vec<(String, String)> = s
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    h.push(("content-type".into(), "application/json".into()));
    h.push(("return-detail".into(), "true".into()));
    h
}

pub(crate) async fn api(
    c: &mut Conn,
    ak: &str,
    sk: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> std::io::Result<Reply> {
    let target = format!("/terra-rescon-be/v2{path}");
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let h = api_headers(ak, sk, method, &target, &bytes);
    c.send(method, &target, &h, &bytes).await
}

pub(crate) fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// SigV4 headers (UNSIGNED-PAYLOAD) for an S3 request with STS credentials.
pub(crate) fn sigv4(
    token: &StsToken,
    host: &str,
    method: &str,
    path: &str,
    query: &str,
) -> Vec<(String, String)> {
    let now = terra_types::time::format_rfc3339(SystemTime::now()).replace(['-', ':'], "");
    let (date, stamp) = (&now[..8], now.as_str());
    let tok = token.session_token.expose();
    let signed = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
    let canonical = format!(
        "{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{stamp}\nx-amz-security-token:{tok}\n\n{signed}\nUNSIGNED-PAYLOAD"
    );
    let scope = format!("{date}/{}/s3/aws4_request", token.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut k = hmac256(
        format!("AWS4{}", token.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    for part in [token.region.as_str(), "s3", "aws4_request"] {
        k = hmac256(&k, part.as_bytes());
    }
    let sig = hex::encode(hmac256(&k, to_sign.as_bytes()));
    vec![
        ("x-amz-date".into(), stamp.to_owned()),
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
        ("x-amz-security-token".into(), tok.to_owned()),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
                token.access_key_id
            ),
        ),
    ]
}
