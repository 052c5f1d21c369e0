//! How many transfers run at once, adapted to the link: a long round trip needs many
//! requests in flight, a fast local link does not, and a struggling server needs fewer.

use std::time::Duration;

/// The number of transfers in flight: starts at `start`, grows after every round of
/// completions (as many as were in flight) that brought more bytes per second than the
/// round before (by 10 %), never above `max`, and halves when a transfer had to be retried
/// (a 429 or 5xx, a reset connection). Growth is fourfold until the first round that does
/// not improve or the first retry (a slow start: a long round trip costs one per round),
/// then twofold. Sans-IO: the caller passes the time.
///
/// ```
/// use std::time::Duration;
/// use terra_store::AdaptiveLimit;
/// let mut limit = AdaptiveLimit::new(2, 64, Duration::ZERO);
/// // A first round of 2: the rate is measured (and beats the nothing before).
/// limit.completed(1000, false, Duration::from_millis(100));
/// limit.completed(1000, false, Duration::from_millis(100));
/// assert_eq!(limit.now(), 8, "slow start: fourfold");
/// // Eight more, four times the bytes per second: more still.
/// for _ in 0..8 { limit.completed(1000, false, Duration::from_millis(200)); }
/// assert_eq!(limit.now(), 32);
/// // A retry: back off, and grow only twofold from now on.
/// limit.completed(1000, true, Duration::from_millis(250));
/// assert_eq!(limit.now(), 16);
/// for _ in 0..16 { limit.completed(1000, false, Duration::from_millis(260)); }
/// assert_eq!(limit.now(), 32);
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    now: usize,
    max: usize,
    window_started: Duration,
    window_bytes: u64,
    window_done: usize,
    last_rate: f64,
    slow_start: bool,
}

impl AdaptiveLimit {
    /// Starts at `start` (at least 1) transfers, at most `max`; `at` is the caller's time.
    pub fn new(start: usize, max: usize, at: Duration) -> Self {
        let max = max.max(1);
        Self {
            now: start.clamp(1, max),
            max,
            window_started: at,
            window_bytes: 0,
            window_done: 0,
            last_rate: 0.0,
            slow_start: true,
        }
    }

    /// Transfers allowed in flight now.
    pub fn now(&self) -> usize {
        self.now
    }

    /// The most transfers ever allowed.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A transfer of `bytes` completed at `at`; `retried` if it needed more than one
    /// attempt.
    pub fn completed(&mut self, bytes: u64, retried: bool, at: Duration) {
        if retried {
            self.slow_start = false;
            self.now = (self.now / 2).max(1);
            self.restart(0.0, at);
            return;
        }
        self.window_bytes += bytes;
        self.window_done += 1;
        if self.window_done < self.now {
            return;
        }
        let secs = at
            .saturating_sub(self.window_started)
            .as_secs_f64()
            .max(1e-6);
        let rate = self.window_bytes as f64 / secs;
        if rate > self.last_rate * 1.1 {
            let factor = if self.slow_start { 4 } else { 2 };
            self.now = (self.now * factor).min(self.max);
        } else {
            self.slow_start = false;
        }
        self.restart(rate, at);
    }

    fn restart(&mut self, rate: f64, at: Duration) {
        self.last_rate = rate;
        self.window_started = at;
        self.window_bytes = 0;
        self.window_done = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// `n` completions of `bytes` each at `at`.
    fn round(l: &mut AdaptiveLimit, n: usize, bytes: u64, at: Duration) {
        for _ in 0..n {
            l.completed(bytes, false, at);
        }
    }

    #[test]
    fn the_ceiling_is_reported_and_never_below_one() {
        assert_eq!(AdaptiveLimit::new(2, 64, ms(0)).max(), 64);
        assert_eq!(AdaptiveLimit::new(2, 0, ms(0)).max(), 1);
    }

    #[test]
    fn slow_start_then_halving_then_doubling() {
        let mut l = AdaptiveLimit::new(2, 64, ms(0));
        l.completed(1000, false, ms(100));
        assert_eq!(
            l.now(),
            2,
            "a round is as many completions as were in flight"
        );
        l.completed(1000, false, ms(100));
        assert_eq!(l.now(), 8, "fourfold while starting");
        round(&mut l, 7, 1000, ms(200));
        assert_eq!(l.now(), 8, "the round is not over");
        l.completed(1000, false, ms(200));
        assert_eq!(l.now(), 32, "8 000 B in 100 ms beat 2 000 B in 100 ms");
        l.completed(1000, true, ms(250));
        assert_eq!(l.now(), 16, "a retry halves");
        round(&mut l, 16, 1000, ms(260));
        assert_eq!(l.now(), 32, "twofold after a retry");
        let mut l = AdaptiveLimit::new(3, 64, ms(0));
        l.completed(1, true, ms(1));
        assert_eq!(l.now(), 1, "3 halves to 1");
    }

    #[test]
    fn rounds_that_move_no_bytes_are_no_reason_to_grow() {
        // Empty files say nothing about the link's room: the limit stays where it is.
        let mut l = AdaptiveLimit::new(4, 64, ms(0));
        round(&mut l, 4, 0, ms(100));
        assert_eq!(l.now(), 4);
        round(&mut l, 4, 0, ms(200));
        assert_eq!(l.now(), 4);
    }

    #[test]
    fn growth_needs_ten_percent_more_bytes_per_second() {
        // Rounds of 4 × 1 000 B, each lasting 100 ms: 40 000 B/s.
        let mut l = AdaptiveLimit::new(4, 1024, ms(0));
        round(&mut l, 4, 1000, ms(100));
        assert_eq!(l.now(), 16);
        // 16 × 262 B in 100 ms: 41 920 B/s, 4.8 % more: not enough; slow start ends.
        round(&mut l, 16, 262, ms(200));
        assert_eq!(l.now(), 16);
        // 16 × 250 B in 100 ms: 40 000 B/s, 4.6 % less: no growth either.
        round(&mut l, 16, 250, ms(300));
        assert_eq!(l.now(), 16);
        // 16 × 300 B in 100 ms: 48 000 B/s, 20 % more: twofold now.
        round(&mut l, 16, 300, ms(400));
        assert_eq!(l.now(), 32);
        // The same bytes per transfer in half the time: twice the rate, more again.
        round(&mut l, 32, 300, ms(450));
        assert_eq!(l.now(), 64);
    }

    #[test]
    fn a_flat_rate_stops_the_growth_and_the_ceiling_holds() {
        let ms = Duration::from_millis;
        let mut l = AdaptiveLimit::new(4, 8, ms(0));
        for _ in 0..4 {
            l.completed(100, false, ms(10));
        }
        assert_eq!(l.now(), 8);
        // The same bytes per second as before: no more growth.
        for _ in 0..8 {
            l.completed(100, false, ms(30));
        }
        assert_eq!(l.now(), 8);
        // Rising rates grow it to the ceiling and no further.
        let mut l = AdaptiveLimit::new(1, 64, ms(0));
        let mut t = 0;
        for round in 1..=10u64 {
            t += 10;
            for _ in 0..l.now() {
                l.completed(round * 1000, false, ms(t));
            }
        }
        assert_eq!(l.now(), 64);
        let mut l = AdaptiveLimit::new(100, 8, ms(0));
        assert_eq!(l.now(), 8, "start is clamped to max");
        l.completed(1, true, ms(1));
        l.completed(1, true, ms(2));
        l.completed(1, true, ms(3));
        l.completed(1, true, ms(4));
        assert_eq!(l.now(), 1, "never below one");
    }
}
