//! The mock's notion of "now". Jobs advance, tokens and links expire and signatures are
//! checked against this clock, so a test on a [`ManualClock`] controls all of it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of the current time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// /// A service whose clock runs ten minutes fast.
/// #[derive(Debug)]
/// struct Fast;
/// impl terra_mock::Clock for Fast {
///     fn now(&self) -> SystemTime {
///         SystemTime::now() + Duration::from_secs(600)
///     }
/// }
/// let mock = terra_mock::TerraMock::builder().clock(Arc::new(Fast)).start().await?;
/// assert!(mock.now() > SystemTime::now() + Duration::from_secs(599));
/// # Ok(()) }
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The machine's wall clock.
///
/// ```
/// use terra_mock::{Clock, SystemClock};
/// let before = std::time::SystemTime::now();
/// assert!(SystemClock.now() >= before);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to. Clones share the same time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_mock::{Clock, ManualClock};
/// let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_795_600_800));
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_795_600_890));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock stopped at `time`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_mock::{Clock, ManualClock};
    /// let t = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// assert_eq!(ManualClock::at(t).now(), t);
    /// ```
    pub fn at(time: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(time)))
    }

    /// A clock stopped at the current wall-clock time (whole seconds).
    ///
    /// ```
    /// use terra_mock::{Clock, ManualClock};
    /// let clock = ManualClock::starting_now();
    /// let first = clock.now();
    /// std::thread::sleep(std::time::Duration::from_millis(20));
    /// assert_eq!(clock.now(), first, "it does not move by itself");
    /// ```
    pub fn starting_now() -> Self {
        let now = SystemTime::now();
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Self::at(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward.
    ///
    /// ```
    /// use std::time::Duration;
    /// use terra_mock::{Clock, ManualClock};
    /// let clock = ManualClock::starting_now();
    /// let shared = clock.clone();
    /// let t0 = clock.now();
    /// shared.advance(Duration::from_secs(3600));
    /// assert_eq!(clock.now(), t0 + Duration::from_secs(3600), "clones share the time");
    /// ```
    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }

    /// Sets the clock.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_mock::{Clock, ManualClock};
    /// let clock = ManualClock::starting_now();
    /// clock.set(UNIX_EPOCH + Duration::from_secs(1));
    /// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1), "also backwards");
    /// ```
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().expect("clock lock") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock lock")
    }
}
