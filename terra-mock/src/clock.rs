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

/// Whether the mock's time follows its base clock or stands still.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Time runs with the base clock (the system clock, or the test's [`ManualClock`]),
    /// shifted by what was advanced or set.
    System,
    /// Time stands still until advanced or set.
    Manual,
}

#[derive(Debug, Clone, Copy)]
enum Shift {
    /// `base + ahead - behind`.
    Follow {
        ahead: Duration,
        behind: Duration,
    },
    Frozen(SystemTime),
}

/// A [`MockClock`]'s shift and mode, as kept across restarts.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct ClockState {
    mode: ClockMode,
    /// Milliseconds ahead of the base clock (system mode).
    offset_ms: i64,
    /// The frozen time (manual mode).
    frozen_ms: u64,
}

/// The clock a running mock reads: a base clock that the control API can shift, set or
/// freeze (the harness and `/_terra-mock/v1/clock` use it).
#[derive(Debug)]
pub(crate) struct MockClock {
    base: Arc<dyn Clock>,
    shift: Mutex<Shift>,
}

impl MockClock {
    pub(crate) fn new(base: Arc<dyn Clock>) -> Self {
        Self {
            base,
            shift: Mutex::new(Shift::Follow {
                ahead: Duration::ZERO,
                behind: Duration::ZERO,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shift> {
        self.shift.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn at(&self, shift: Shift) -> SystemTime {
        match shift {
            Shift::Follow { ahead, behind } => {
                let t = self.base.now() + ahead;
                t.checked_sub(behind).unwrap_or(SystemTime::UNIX_EPOCH)
            }
            Shift::Frozen(t) => t,
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        let s = *self.lock();
        self.at(s)
    }

    /// The base clock's time, without what was advanced or set (what clients sign with).
    pub(crate) fn base_now(&self) -> SystemTime {
        self.base.now()
    }

    pub(crate) fn mode(&self) -> ClockMode {
        match *self.lock() {
            Shift::Follow { .. } => ClockMode::System,
            Shift::Frozen(_) => ClockMode::Manual,
        }
    }

    /// Moves time forward (in either mode).
    pub(crate) fn advance(&self, by: Duration) {
        let mut s = self.lock();
        *s = match *s {
            Shift::Follow { ahead, behind } => {
                // Keep one of the two at zero.
                if behind >= by {
                    Shift::Follow {
                        ahead,
                        behind: behind - by,
                    }
                } else {
                    Shift::Follow {
                        ahead: ahead + (by - behind),
                        behind: Duration::ZERO,
                    }
                }
            }
            Shift::Frozen(t) => Shift::Frozen(t + by),
        };
    }

    /// Sets the time (in either mode; in system mode time then runs on from there).
    pub(crate) fn set(&self, to: SystemTime) {
        let mut s = self.lock();
        *s = match *s {
            Shift::Follow { .. } => {
                let base = self.base.now();
                match to.duration_since(base) {
                    Ok(ahead) => Shift::Follow {
                        ahead,
                        behind: Duration::ZERO,
                    },
                    Err(e) => Shift::Follow {
                        ahead: Duration::ZERO,
                        behind: e.duration(),
                    },
                }
            }
            Shift::Frozen(_) => Shift::Frozen(to),
        };
    }

    /// The shift and mode, to keep across restarts.
    pub(crate) fn state(&self) -> ClockState {
        match *self.lock() {
            Shift::Follow { ahead, behind } => ClockState {
                mode: ClockMode::System,
                offset_ms: ahead.as_millis() as i64 - behind.as_millis() as i64,
                frozen_ms: 0,
            },
            Shift::Frozen(t) => ClockState {
                mode: ClockMode::Manual,
                offset_ms: 0,
                frozen_ms: t
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            },
        }
    }

    /// Puts back a kept shift and mode: in system mode, time has run on meanwhile.
    pub(crate) fn restore(&self, s: ClockState) {
        *self.lock() = match s.mode {
            ClockMode::System => Shift::Follow {
                ahead: Duration::from_millis(s.offset_ms.max(0) as u64),
                behind: Duration::from_millis(s.offset_ms.min(0).unsigned_abs()),
            },
            ClockMode::Manual => {
                Shift::Frozen(SystemTime::UNIX_EPOCH + Duration::from_millis(s.frozen_ms))
            }
        };
    }

    /// Switches mode without a jump: manual freezes the current time, system lets it run
    /// on from there.
    pub(crate) fn set_mode(&self, mode: ClockMode) {
        let now = self.now();
        *self.lock() = Shift::Frozen(now);
        if mode == ClockMode::System {
            *self.lock() = Shift::Follow {
                ahead: Duration::ZERO,
                behind: Duration::ZERO,
            };
            self.set(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_clock_shifts_freezes_and_resumes_without_a_jump() {
        let base = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1000));
        let c = MockClock::new(Arc::new(base.clone()));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!((c.now(), c.mode()), (at(1000), ClockMode::System));
        c.advance(Duration::from_secs(50));
        base.advance(Duration::from_secs(10));
        assert_eq!(c.now(), at(1060), "system mode follows the base, shifted");
        c.set(at(500));
        assert_eq!(c.now(), at(500));
        base.advance(Duration::from_secs(5));
        assert_eq!(c.now(), at(505));
        c.set_mode(ClockMode::Manual);
        base.advance(Duration::from_secs(100));
        assert_eq!(c.now(), at(505), "manual mode stands still");
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), at(510));
        c.set_mode(ClockMode::System);
        assert_eq!(c.now(), at(510), "no jump when switching back");
        base.advance(Duration::from_secs(1));
        assert_eq!(c.now(), at(511));
    }
}
