//! Time as the client sees it: the signing date and every wait (backoff, polling).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// A source of time for signing and of sleeps for waiting. The default is the system
/// clock and tokio's timer; tests inject a clock that moves an emulator's time instead of
/// waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, written into the signed date header.
    fn now(&self) -> SystemTime;

    /// Waits `d` (or makes `d` pass).
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}
