//! How failed entries and requests are tried again.

use std::time::Duration;

/// How failed entries and requests are retried: exponential backoff with full jitter, bounded
/// by attempts and by the time the invocation has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per entry, the first included.
    pub max_attempts: u32,
    /// The backoff before the second attempt (doubles each time).
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Time kept in reserve before the invocation's deadline, to answer in time.
    pub deadline_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            deadline_margin: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt` (2 = the first retry): a random time up to
    /// `base * 2^(attempt-2)`, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.cap(attempt.saturating_sub(2)).mul_f64(fastrand::f64())
    }

    /// The backoff before attempt `attempt` after EventBridge throttled: at least half of a
    /// cap twice the usual one ("equal jitter"). A throttle says the quota is spent now; a
    /// retry sent at once would find it spent again.
    pub fn throttled_backoff(&self, attempt: u32) -> Duration {
        let cap = self.cap(attempt.saturating_sub(1));
        cap / 2 + (cap / 2).mul_f64(fastrand::f64())
    }

    /// `base * 2^exponent`, at most the longest backoff.
    fn cap(&self, exponent: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << exponent.min(20))
            .min(self.max_delay)
    }
}
