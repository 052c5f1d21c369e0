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

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::core::ResetConnection;

mod track;
pub(crate) use track::Limits;
use track::{CLOSING_SLACK, Conn, Counted, DoneBody, IdleBody, Tracker, Watched};

#[derive(Debug)]
struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for InjectedReset {}

/// What every connection of a server shares.
struct Ctx {
    router: Arc<crate::router::Dispatch>,
    limits: Limits,
    tracker: Arc<Tracker>,
    proxy: Option<Arc<crate::proxy::Proxy>>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections
/// finish (up to 5 s). With a `proxy`, the port is also a forward proxy (`proxy/`).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Arc<crate::router::Dispatch>,
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
            let resp = ctx.router.handle(req).await;
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
