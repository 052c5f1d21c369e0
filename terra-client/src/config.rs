//! Configuration types: regions, retries, polling.

use std::time::Duration;

/// The two TerraAPI hosts (reference §1.1). A key works with the host it was issued for.
///
/// ```
/// use terra_client::Region;
/// assert_eq!(Region::Us.base_url(), "https://openapi-us.dji.com");
/// assert_eq!(Region::Cn.base_url(), "https://openapi-cn.dji.com");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// `https://openapi-us.dji.com`: international accounts, storage on AWS S3.
    Us,
    /// `https://openapi-cn.dji.com`: mainland China accounts, storage on Aliyun OSS.
    Cn,
}

impl Region {
    /// The host URL.
    ///
    /// ```
    /// assert_eq!(terra_client::Region::Us.base_url(), "https://openapi-us.dji.com");
    /// ```
    pub const fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://openapi-us.dji.com",
            Self::Cn => "https://openapi-cn.dji.com",
        }
    }
}

impl std::str::FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "us" | "intl" | "international" => Ok(Self::Us),
            "cn" | "china" => Ok(Self::Cn),
            other => Err(format!("unknown region {other:?}: use `us` or `cn`")),
        }
    }
}

/// Decorrelated-jitter backoff: each delay is drawn uniformly from
/// `[initial, previous × multiplier]`, capped at `max`.
///
/// ```
/// use std::time::Duration;
/// use terra_client::BackoffConfig;
/// let b = BackoffConfig { initial: Duration::from_millis(100), max: Duration::from_secs(5), multiplier: 3.0 };
/// let first = b.next_delay(None, 0.5);
/// let second = b.next_delay(Some(first), 0.99);
/// assert!(second <= Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The first delay's lower bound.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
    /// Growth of the upper bound.
    pub multiplier: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(10),
            multiplier: 3.0,
        }
    }
}

impl BackoffConfig {
    /// No waiting between attempts (for tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = terra_client::BackoffConfig::none();
    /// assert_eq!(b.next_delay(Some(Duration::from_secs(3)), 0.7), Duration::ZERO);
    /// ```
    pub const fn none() -> Self {
        Self {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            multiplier: 1.0,
        }
    }

    /// The next delay after `previous` (`None` for the first retry), from a uniform draw
    /// `u` in `[0, 1)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use terra_client::BackoffConfig;
    /// let b = BackoffConfig { initial: Duration::from_millis(100), max: Duration::from_secs(2), multiplier: 3.0 };
    /// // From [initial, previous * multiplier], capped at max.
    /// assert_eq!(b.next_delay(Some(Duration::from_secs(1)), 0.0), Duration::from_millis(100));
    /// assert_eq!(b.next_delay(Some(Duration::from_secs(10)), 0.99), Duration::from_secs(2));
    /// ```
    pub fn next_delay(&self, previous: Option<Duration>, u: f64) -> Duration {
        let lo = self.initial.as_secs_f64();
        let hi = previous
            .map_or(lo * self.multiplier, |p| p.as_secs_f64() * self.multiplier)
            .max(lo);
        Duration::from_secs_f64((lo + (hi - lo) * u.clamp(0.0, 1.0)).min(self.max.as_secs_f64()))
    }
}

/// How often and how long a call is retried. A call ends after `max_attempts` attempts or
/// once `max_elapsed` has passed, whichever comes first. `Retry-After` is honoured (within
/// `max_elapsed`).
///
/// Which calls are retried, and when, is the rule of the crate documentation ("Retries").
///
/// ```
/// use std::time::Duration;
/// use terra_client::RetryConfig;
/// // Patient retries for a flaky uplink: up to 10 attempts within 5 minutes.
/// let retry = RetryConfig { max_attempts: 10, max_elapsed: Duration::from_secs(300), ..Default::default() };
/// # let _ = retry;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Time budget of all attempts and waits.
    pub max_elapsed: Duration,
    /// Delays between attempts.
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(120),
            backoff: BackoffConfig::default(),
        }
    }
}

impl RetryConfig {
    /// A single attempt.
    ///
    /// ```
    /// let once = terra_client::RetryConfig::disabled();
    /// assert_eq!(once.max_attempts, 1);
    /// ```
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// How a job is polled: the interval starts at `initial` and grows by `multiplier` up to
/// `max`; when the job reports `remainSeconds`, the next poll comes at about half the
/// remaining time (never sooner than `initial`, never later than `max`).
///
/// ```
/// use std::time::Duration;
/// use terra_client::PollingPolicy;
/// // Poll a long 3D job no more than once a minute, and give up after a day.
/// let policy = PollingPolicy {
///     initial: Duration::from_secs(30),
///     max: Duration::from_secs(60),
///     max_wait: Some(Duration::from_secs(24 * 3600)),
///     ..Default::default()
/// };
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollingPolicy {
    /// First interval and lower bound.
    pub initial: Duration,
    /// Upper bound of the interval.
    pub max: Duration,
    /// Growth of the interval between polls.
    pub multiplier: f64,
    /// Give up after this long (`None`: wait as long as the job runs).
    pub max_wait: Option<Duration>,
    /// Polls that fail with a retryable error in a row before the poller gives up.
    pub max_consecutive_errors: u32,
}

impl Default for PollingPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(60),
            multiplier: 1.5,
            max_wait: None,
            max_consecutive_errors: 10,
        }
    }
}

impl PollingPolicy {
    /// The wait after a poll that saw `remain_seconds`, given the previous interval.
    ///
    /// ```
    /// use std::time::Duration;
    /// use terra_client::PollingPolicy;
    /// let s = Duration::from_secs;
    /// let p = PollingPolicy { initial: s(5), max: s(60), multiplier: 2.0, ..Default::default() };
    /// assert_eq!(p.next_interval(None, None), s(5));
    /// assert_eq!(p.next_interval(Some(s(5)), None), s(10)); // grows
    /// assert_eq!(p.next_interval(Some(s(10)), Some(40)), s(20)); // half the time left
    /// assert_eq!(p.next_interval(Some(s(10)), Some(1000)), s(60)); // capped
    /// assert_eq!(p.next_interval(Some(s(40)), Some(2)), s(5)); // never below initial
    /// ```
    pub fn next_interval(
        &self,
        previous: Option<Duration>,
        remain_seconds: Option<i64>,
    ) -> Duration {
        let grown = previous.map_or(self.initial, |p| p.mul_f64(self.multiplier.max(1.0)));
        let target = match remain_seconds {
            Some(r) if r > 0 => grown
                .max(Duration::from_secs_f64(r as f64 / 2.0))
                .min(Duration::from_secs(r as u64)),
            _ => grown,
        };
        target.clamp(self.initial, self.max.max(self.initial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_bounds_and_grows() {
        let b = BackoffConfig::default();
        let mut prev = None;
        for i in 0..20 {
            let d = b.next_delay(prev, (i as f64 * 0.37) % 1.0);
            assert!(d >= b.initial && d <= b.max, "{d:?}");
            prev = Some(d);
        }
        assert_eq!(b.next_delay(Some(Duration::from_secs(8)), 1.0), b.max);
        assert_eq!(BackoffConfig::none().next_delay(None, 0.9), Duration::ZERO);
    }

    #[test]
    fn backoff_draws_from_initial_to_previous_times_multiplier() {
        let ms = Duration::from_millis;
        let b = BackoffConfig {
            initial: ms(100),
            max: Duration::from_secs(10),
            multiplier: 3.0,
        };
        // The first retry: from [100 ms, 300 ms].
        assert_eq!(b.next_delay(None, 0.0), ms(100));
        assert_eq!(b.next_delay(None, 0.5), ms(200));
        // Later ones: from [100 ms, previous × 3].
        assert_eq!(b.next_delay(Some(ms(1000)), 0.5), ms(1550));
        assert_eq!(b.next_delay(Some(ms(1000)), 1.0), ms(3000));
    }

    #[test]
    fn a_job_reporting_no_time_left_is_polled_at_the_grown_interval() {
        let s = Duration::from_secs;
        let p = PollingPolicy {
            initial: s(5),
            max: s(60),
            multiplier: 2.0,
            ..Default::default()
        };
        assert_eq!(p.next_interval(Some(s(10)), Some(0)), s(20));
        assert_eq!(p.next_interval(Some(s(10)), Some(-1)), s(20));
        assert_eq!(p.next_interval(Some(s(10)), Some(1)), s(5));
    }

    #[test]
    fn polling_uses_the_remaining_time() {
        let p = PollingPolicy::default();
        assert_eq!(p.next_interval(None, None), Duration::from_secs(5));
        assert_eq!(
            p.next_interval(Some(Duration::from_secs(10)), None),
            Duration::from_secs(15)
        );
        assert_eq!(
            p.next_interval(Some(Duration::from_secs(50)), None),
            Duration::from_secs(60)
        );
        assert_eq!(
            p.next_interval(Some(Duration::from_secs(5)), Some(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            p.next_interval(Some(Duration::from_secs(5)), Some(20)),
            Duration::from_secs(10)
        );
        assert_eq!(
            p.next_interval(Some(Duration::from_secs(5)), Some(2)),
            Duration::from_secs(5)
        );
    }
}
