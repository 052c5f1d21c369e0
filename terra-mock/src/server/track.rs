//! Every connection tracked from accept to close (see `super`): the limits, the table of
//! connections with the cap and its eviction, and what wraps a connection's stream (request
//! bytes reported as they arrive, the interim `100 Continue` written) and a request's body
//! (failing when it stalls, telling the tracker when the exchange is over).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::config::MockConfig;

/// The connection limits in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub keep_alive_timeout: Duration,
}

/// The soft limit on open file descriptors, where the platform tells it.
fn fd_soft_limit() -> Option<u64> {
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
pub(super) struct Conn {
    /// A request is being handled (headers done, response not yet sent).
    pub(super) busy: AtomicBool,
    /// When the connection started waiting for its next request head.
    pub(super) waiting_since: AtomicU64,
    /// When the first byte of that head arrived.
    pub(super) head_started: AtomicU64,
    pub(super) requests: AtomicU64,
    /// The request being answered asked for `100 Continue` with an empty body, which hyper
    /// does not send: the next response head is preceded by one.
    pub(super) continue_pending: AtomicBool,
    /// Set once the connection must close; `kill` wakes whoever waits on it (the
    /// connection's task, and the tunnel it opened: both must hear it).
    pub(super) killed: AtomicBool,
    pub(super) kill: Notify,
}

impl Conn {
    /// Asks every task serving the connection to close it.
    pub(super) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_waiters();
    }

    /// Resolves once [`Conn::kill`] was called, before or after this call.
    pub(super) async fn killed(&self) {
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
pub(super) struct Tracker {
    pub(super) epoch: Instant,
    pub(super) conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    pub(super) next: AtomicU64,
    pub(super) limits: Limits,
    /// Accepted sockets not yet closed, those evicted and still closing included.
    pub(super) open: std::sync::atomic::AtomicUsize,
    /// Told when one of them closes.
    pub(super) closed: Notify,
}

/// Accepted sockets beyond the connection cap that may be open at once: evicted ones
/// still closing. The accept loop waits rather than go past it, so a burst of
/// connections never takes the process to its descriptor limit.
pub(super) const CLOSING_SLACK: usize = 8;

/// An accepted socket, counted in [`Tracker::open`] until dropped.
pub(super) struct Counted<S> {
    pub(super) inner: S,
    pub(super) tracker: Arc<Tracker>,
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
    pub(super) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, evicting the oldest evictable one at the cap; `None`
    /// when every connection is busy (the new one is then refused).
    pub(super) fn admit(&self) -> Option<(u64, Arc<Conn>)> {
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

    pub(super) fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes connections stuck in their headers or idle too long.
    pub(super) fn sweep(&self) {
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
pub(super) struct Watched<S> {
    pub(super) inner: S,
    pub(super) conn: Arc<Conn>,
    pub(super) tracker: Arc<Tracker>,
    /// Bytes of an interim response still to write before the next response head.
    pub(super) interim: Option<&'static [u8]>,
}

/// What S3 sends a client that asked for it, before the final answer: also when the body is
/// empty (botocore waits for it, then misreads the connection without it).
pub(super) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes a pending `100 Continue` when `head` starts a response.
    pub(super) fn poll_interim(
        &mut self,
        cx: &mut Context<'_>,
        head: &[u8],
    ) -> Poll<std::io::Result<()>> {
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
pub(super) struct IdleBody {
    pub(super) inner: Incoming,
    pub(super) timeout: Duration,
    pub(super) sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug)]
pub(super) struct BodyIdle(Duration);

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
pub(super) struct DoneBody {
    pub(super) inner: axum::body::Body,
    pub(super) conn: Arc<Conn>,
    pub(super) tracker: Arc<Tracker>,
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
