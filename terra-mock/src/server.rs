//! The accept loop, hand-written (rather than `axum::serve`) for three reasons: an injected
//! reset must really close the connection without an answer; shutdown is graceful; and a
//! server other people share must hold against slow and half-open clients.
//!
//! Every connection is tracked from accept to close. One that has not finished its request
//! headers within the header timeout, or sits idle between requests past the keep-alive
//! timeout, is closed; a request body that stalls past the body idle timeout fails. The
//! number of connections is capped below the process's file-descriptor limit, and at the
//! cap a new connection evicts the oldest one that is not in the middle of a request (still
//! sending headers, or idle), so half-open connections cannot starve real clients. A proxy
//! tunnel is the connection that opened it: counted while its TLS handshake runs (which is
//! timed like a request head, and evictable like one) and while it serves requests, under
//! the same cap.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt as _;

use crate::config::MockConfig;
use crate::core::ResetConnection;

#[derive(Debug)]
struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for InjectedReset {}

/// The connection limits in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub keep_alive_timeout: Duration,
}

/// The soft limit on open file descriptors, where the platform tells it.
pub(crate) fn fd_soft_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl Limits {
    /// The limits of a configuration; `max_connections = 0` means three quarters of the
    /// descriptor limit (the rest is left for object files), at most 10 000.
    pub(crate) fn of(cfg: &MockConfig) -> Self {
        let max_connections = if cfg.max_connections > 0 {
            cfg.max_connections
        } else {
            fd_soft_limit()
                .map(|l| (l.saturating_mul(3) / 4).clamp(16, 10_000) as usize)
                .unwrap_or(768)
        };
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.001));
        Self {
            max_connections,
            header_read_timeout: secs(cfg.header_read_timeout_secs),
            body_idle_timeout: secs(cfg.body_idle_timeout_secs),
            keep_alive_timeout: secs(cfg.keep_alive_timeout_secs),
        }
    }
}

/// What the tracker knows of one connection. Times are milliseconds since the tracker
/// started; 0 means "not yet".
#[derive(Debug)]
struct Conn {
    /// A request is being handled (headers done, response not yet sent).
    busy: AtomicBool,
    /// When the connection started waiting for its next request head.
    waiting_since: AtomicU64,
    /// When the first byte of that head arrived.
    head_started: AtomicU64,
    requests: AtomicU64,
    /// The request being answered asked for `100 Continue` with an empty body, which hyper
    /// does not send: the next response head is preceded by one.
    continue_pending: AtomicBool,
    /// Set once the connection must close; `kill` wakes whoever waits on it (the
    /// connection's task, and the tunnel it opened: both must hear it).
    killed: AtomicBool,
    kill: Notify,
}

impl Conn {
    /// Asks every task serving the connection to close it.
    fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_waiters();
    }

    /// Resolves once [`Conn::kill`] was called, before or after this call.
    async fn killed(&self) {
        loop {
            let notified = self.kill.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.killed.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[derive(Debug)]
struct Tracker {
    epoch: Instant,
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    limits: Limits,
    /// Accepted sockets not yet closed, those evicted and still closing included.
    open: std::sync::atomic::AtomicUsize,
    /// Told when one of them closes.
    closed: Notify,
}

/// Accepted sockets beyond the connection cap that may be open at once: evicted ones
/// still closing. The accept loop waits rather than go past it, so a burst of
/// connections never takes the process to its descriptor limit.
const CLOSING_SLACK: usize = 8;

/// An accepted socket, counted in [`Tracker::open`] until dropped.
struct Counted<S> {
    inner: S,
    tracker: Arc<Tracker>,
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        self.tracker.open.fetch_sub(1, Ordering::AcqRel);
        self.tracker.closed.notify_waiters();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Tracker {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, evicting the oldest evictable one at the cap; `None`
    /// when every connection is busy (the new one is then refused).
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.lock();
        if conns.len() >= self.limits.max_connections {
            let victim = conns
                .iter()
                .find(|(_, c)| !c.busy.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(c) = conns.remove(&victim) {
                c.kill();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            busy: AtomicBool::new(false),
            waiting_since: AtomicU64::new(self.now_ms()),
            head_started: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            continue_pending: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        conns.insert(id, conn.clone());
        Some((id, conn))
    }

    fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes connections stuck in their headers or idle too long.
    fn sweep(&self) {
        let now = self.now_ms();
        let header = self.limits.header_read_timeout.as_millis() as u64;
        let idle = self.limits.keep_alive_timeout.as_millis() as u64;
        let mut conns = self.lock();
        conns.retain(|_, c| {
            if c.busy.load(Ordering::Acquire) {
                return true;
            }
            let started = c.head_started.load(Ordering::Acquire);
            let since = c.waiting_since.load(Ordering::Acquire);
            let expired = if started != 0 {
                now.saturating_sub(started) > header
            } else if c.requests.load(Ordering::Acquire) == 0 {
                now.saturating_sub(since) > header
            } else {
                now.saturating_sub(since) > idle
            };
            if expired {
                c.kill();
            }
            !expired
        });
    }
}

/// A TCP stream that tells its connection's tracker when request bytes arrive, and writes
/// the interim `100 Continue` hyper leaves out.
struct Watched<S> {
    inner: S,
    conn: Arc<Conn>,
    tracker: Arc<Tracker>,
    /// Bytes of an interim response still to write before the next response head.
    interim: Option<&'static [u8]>,
}

/// What S3 sends a client that asked for it, before the final answer: also when the body is
/// empty (botocore waits for it, then misreads the connection without it).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes a pending `100 Continue` when `head` starts a response.
    fn poll_interim(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Poll<std::io::Result<()>> {
        if self.interim.is_none()
            && head.starts_with(b"HTTP/1.")
            && self.conn.continue_pending.swap(false, Ordering::AcqRel)
        {
            self.interim = Some(CONTINUE);
        }
        while let Some(rest) = self.interim {
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(n)) => {
                    self.interim = (n < rest.len()).then(|| &rest[n..]);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && !self.conn.busy.load(Ordering::Acquire)
            && self.conn.head_started.load(Ordering::Acquire) == 0
        {
            let now = self.tracker.now_ms();
            self.conn.head_started.store(now, Ordering::Release);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_interim(cx, buf))?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let head = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        std::task::ready!(self.poll_interim(cx, head))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The request body, failing when the client stops sending for longer than the timeout.
struct IdleBody {
    inner: Incoming,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug)]
struct BodyIdle(Duration);

impl std::fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body stalled for more than {:?}", self.0)
    }
}

impl std::error::Error for BodyIdle {}

impl hyper::body::Body for IdleBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                self.sleep = None;
                Poll::Ready(r.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyIdle(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The response body; when it is dropped (sent or abandoned), the connection waits for its
/// next request.
struct DoneBody {
    inner: axum::body::Body,
    conn: Arc<Conn>,
    tracker: Arc<Tracker>,
}

impl Drop for DoneBody {
    fn drop(&mut self) {
        self.conn
            .waiting_since
            .store(self.tracker.now_ms(), Ordering::Release);
        self.conn.head_started.store(0, Ordering::Release);
        self.conn.busy.store(false, Ordering::Release);
    }
}

impl hyper::body::Body for DoneBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What every connection of a server shares.
struct Ctx {
    router: Router,
    limits: Limits,
    tracker: Arc<Tracker>,
    proxy: Option<Arc<crate::proxy::Proxy>>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections
/// finish (up to 5 s). With a `proxy`, the port is also a forward proxy (`proxy/`).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    proxy: Option<Arc<crate::proxy::Proxy>>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let tracker = Arc::new(Tracker {
        epoch: Instant::now(),
        conns: Mutex::default(),
        next: AtomicU64::new(1),
        limits,
        open: std::sync::atomic::AtomicUsize::new(0),
        closed: Notify::new(),
    });
    let ctx = Arc::new(Ctx {
        router,
        limits,
        tracker: tracker.clone(),
        proxy,
    });
    let sweeper = {
        let tracker = Arc::downgrade(&tracker);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(t) = tracker.upgrade() else { break };
                t.sweep();
            }
        })
    };
    tokio::pin!(shutdown);
    'serving: loop {
        // Past the cap, wait for evicted connections to close before taking more: the
        // kernel's backlog holds the next ones meanwhile, at no descriptor's cost.
        while tracker.open.load(Ordering::Acquire) >= limits.max_connections + CLOSING_SLACK {
            let closed = tracker.closed.notified();
            tokio::select! {
                () = closed => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                () = &mut shutdown => break 'serving,
            }
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break 'serving,
        };
        let _ = stream.set_nodelay(true);
        tracker.open.fetch_add(1, Ordering::AcqRel);
        let stream = Counted {
            inner: stream,
            tracker: tracker.clone(),
        };
        // In proxy mode a CONNECT turns the connection into a tunnel, watched in its turn.
        let reserve = ctx.proxy.is_some().then(|| graceful.watcher());
        connection(ctx.clone(), stream, peer, None, graceful.watcher(), reserve);
    }
    drop(listener);
    sweeper.abort();
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 5 s; closing them");
    }
}

/// When the cap refused a connection last (to log it once in a while).
static REFUSED_AT: Mutex<Option<Instant>> = Mutex::new(None);

/// A connection's place in the tracker, given back when dropped (unless handed on).
struct Place {
    tracker: Arc<Tracker>,
    id: u64,
    conn: Arc<Conn>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.tracker.forget(self.id);
    }
}

/// Serves one connection: accepted on the port (`tunnel` is `None`; it takes a place in
/// the tracker), or the inside of a proxy tunnel to the emulated host `tunnel` (in the
/// place of the connection that opened it).
fn connection<S>(
    ctx: Arc<Ctx>,
    stream: S,
    peer: std::net::SocketAddr,
    tunnel: Option<(String, Place)>,
    watcher: hyper_util::server::graceful::Watcher,
    reserve: Option<hyper_util::server::graceful::Watcher>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = ctx.limits;
    let (tunnel, place) = match tunnel {
        Some((host, place)) => (Some(host), Some(place)),
        None => (None, None),
    };
    let admitted = match place {
        Some(p) => Some(p),
        None => ctx.tracker.admit().map(|(id, conn)| Place {
            tracker: ctx.tracker.clone(),
            id,
            conn,
        }),
    };
    let Some(place) = admitted else {
        let mut at = REFUSED_AT.lock().unwrap_or_else(|e| e.into_inner());
        if at.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            tracing::warn!(
                max = limits.max_connections,
                "every connection is busy; refusing new ones"
            );
            *at = Some(Instant::now());
        }
        return;
    };
    let conn = place.conn.clone();
    if tunnel.is_some() {
        // The handshake is over: the tunnel now waits for its first request.
        conn.head_started.store(0, Ordering::Release);
        conn.waiting_since
            .store(ctx.tracker.now_ms(), Ordering::Release);
    }
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: conn.clone(),
        tracker: ctx.tracker.clone(),
        interim: None,
    });
    // A CONNECT upgrades this connection into a tunnel, which is watched in its turn and
    // takes over the connection's place; whatever is left here goes when the task ends.
    let slot = Arc::new(Mutex::new((reserve, Some(place))));
    let (svc_conn, svc_ctx, svc_tunnel) = (conn.clone(), ctx.clone(), tunnel.clone());
    let held = slot.clone();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let (conn, ctx, tunnel, slot) = (
            svc_conn.clone(),
            svc_ctx.clone(),
            svc_tunnel.clone(),
            slot.clone(),
        );
        conn.busy.store(true, Ordering::Release);
        conn.requests.fetch_add(1, Ordering::AcqRel);
        // hyper sends `100 Continue` when a body is read; an empty one never is.
        let expects = req
            .headers()
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if expects && hyper::body::Body::is_end_stream(req.body()) {
            conn.continue_pending.store(true, Ordering::Release);
        }
        async move {
            let mut req = req;
            crate::proxy::strip_hop_by_hop(req.headers_mut(), false);
            let routed = match (&ctx.proxy, &tunnel) {
                (Some(p), Some(target)) => p.inner(target, req),
                (Some(p), None) => p.route(req),
                (None, _) => crate::proxy::Routed::Pass(req),
            };
            let req = match routed {
                crate::proxy::Routed::Pass(r) => r,
                crate::proxy::Routed::Answer(refused) => return Ok(done(refused, conn, &ctx)),
                crate::proxy::Routed::Connect { host, req } => {
                    let taken = {
                        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                        match (s.0.take(), s.1.take()) {
                            (Some(w), Some(p)) => Some((w, p)),
                            (w, p) => {
                                *s = (w, p);
                                None
                            }
                        }
                    };
                    let Some((watcher, place)) = taken else {
                        let mut refused =
                            Response::new(axum::body::Body::from("one CONNECT per connection"));
                        *refused.status_mut() = http::StatusCode::BAD_REQUEST;
                        return Ok(done(refused, conn, &ctx));
                    };
                    tokio::spawn(tunnel_to(ctx.clone(), req, peer, host, watcher, place));
                    return Ok(done(Response::new(axum::body::Body::empty()), conn, &ctx));
                }
            };
            let mut req = req.map(|b| {
                axum::body::Body::new(IdleBody {
                    inner: b,
                    timeout: limits.body_idle_timeout,
                    sleep: None,
                })
            });
            req.extensions_mut().insert(crate::core::PeerAddr(peer));
            let resp = ctx
                .router
                .clone()
                .oneshot(req)
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            if resp.extensions().get::<ResetConnection>().is_some() {
                return Err(InjectedReset);
            }
            Ok(done(resp, conn, &ctx))
        }
    });
    let proxying = ctx.proxy.is_some() && tunnel.is_none();
    tokio::spawn(async move {
        let served = if proxying {
            // CONNECT needs an upgradeable connection.
            let mut b =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            b.http1().keep_alive(true).max_buf_size(64 * 1024);
            let b = b.http1_only();
            let fut = watcher.watch(b.serve_connection_with_upgrades(io, service).into_owned());
            tokio::select! {
                r = fut => r.err().map(|e| e.to_string()),
                () = conn.killed() => Some("timed out or evicted".into()),
            }
        } else {
            let http = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                // hyper grows a connection's read buffer with the reads, up to 400 KiB; at
                // 64 KiB (headers included) memory per connection stays small and flat.
                .max_buf_size(64 * 1024)
                .serve_connection(io, service);
            let fut = watcher.watch(http);
            tokio::select! {
                r = fut => r.err().map(|e| e.to_string()),
                () = conn.killed() => Some("timed out or evicted".into()),
            }
        };
        if let Some(e) = served {
            tracing::debug!(%peer, error = %e, "connection ended");
        }
        // The place goes back unless a tunnel took it over.
        drop(held);
    });
}

/// Wraps a response so that the connection waits for its next request once it is sent.
fn done(resp: Response, conn: Arc<Conn>, ctx: &Ctx) -> http::Response<DoneBody> {
    resp.map(|inner| DoneBody {
        inner,
        conn,
        tracker: ctx.tracker.clone(),
    })
}

/// The inside of a `CONNECT` tunnel to an emulated host: TLS under a certificate for the
/// name the client asks for (or the tunnel's), then HTTP/1.1 served as direct requests.
/// The tunnel keeps the place of the connection that opened it: its handshake is timed
/// like a request head, and evicted like one at the connection cap.
async fn tunnel_to(
    ctx: Arc<Ctx>,
    req: http::Request<Incoming>,
    peer: std::net::SocketAddr,
    host: String,
    watcher: hyper_util::server::graceful::Watcher,
    place: Place,
) {
    let Some(proxy) = ctx.proxy.clone() else {
        return;
    };
    let handshake = async {
        let upgraded = hyper::upgrade::on(req)
            .await
            .map_err(|e| format!("the tunnel was not opened: {e}"))?;
        // From here the client owes a TLS ClientHello: timed like a request head.
        place
            .conn
            .head_started
            .store(ctx.tracker.now_ms(), Ordering::Release);
        let start = tokio_rustls::LazyConfigAcceptor::new(
            rustls::server::Acceptor::default(),
            TokioIo::new(upgraded),
        )
        .await
        .map_err(|e| format!("no TLS ClientHello: {e}"))?;
        let sni = start.client_hello().server_name().map(str::to_owned);
        let cfg = proxy
            .tls(sni.as_deref(), &host)
            .map_err(|e| e.to_string())?;
        start.into_stream(cfg).await.map_err(|e| {
            format!("TLS handshake through the proxy failed (does the client trust terra-mock's CA?): {e}")
        })
    };
    let timed = tokio::time::timeout(ctx.limits.header_read_timeout, handshake);
    let tls = tokio::select! {
        r = timed => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::info!(%peer, %host, error = %e, "proxy tunnel closed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, %host, "TLS handshake through the proxy timed out");
                return;
            }
        },
        () = place.conn.killed() => {
            tracing::debug!(%peer, %host, "proxy tunnel evicted during its handshake");
            return;
        }
    };
    connection(ctx, tls, peer, Some((host, place)), watcher, None);
}
