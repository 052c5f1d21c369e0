//! Time as the client sees it: the signing date and every wait (backoff, polling).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// A source of time for signing and of sleeps for waiting. The default is the system
/// clock and tokio's timer; tests inject a clock that moves an emulator's time instead of
/// waiting.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, SystemTime};
///
/// /// A clock for tests: sleeping moves time forward at once.
/// #[derive(Debug)]
/// struct Skipping(Mutex<SystemTime>);
/// impl terra_client::Clock for Skipping {
///     fn now(&self) -> SystemTime {
///         *self.0.lock().unwrap()
///     }
///     fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
///         *self.0.lock().unwrap() += d;
///         Box::pin(std::future::ready(()))
///     }
/// }
/// let clock = Arc::new(Skipping(Mutex::new(SystemTime::UNIX_EPOCH)));
/// # let _ = clock;
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, written into the signed date header.
    fn now(&self) -> SystemTime;

    /// Waits `d` (or makes `d` pass).
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock and tokio's timer.
///
/// ```
/// use terra_client::{Clock, SystemClock};
/// let before = std::time::SystemTime::now();
/// assert!(SystemClock.now() >= before);
/// ```
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
