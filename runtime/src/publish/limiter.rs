//! How many PutEvents requests may be in flight, learned from the answers: the window grows
//! while answers come back fast and clean, and shrinks on throttling, on server errors and
//! timeouts, and on answers that slow down (before they turn into timeouts and re-sends),
//! bounded by `max-in-flight` and, when declared, by the account's quota share
//! (`max-entries-per-second`, a token bucket). One [`Limiter`] is shared by everything that
//! publishes in a process (the batches of a warm Lambda container, the segments of a backfill),
//! so what one batch learned the next one starts from, and together they stay within the
//! bounds.
//!
//! The rule is additive increase, multiplicative decrease (as TCP's congestion control and
//! Netflix's concurrency-limits' AIMD limiter): +1 per clean answer while below the last
//! decrease (slow start), +1/window above it, and only on answers within twice the recent
//! fastest one (or 20 ms more); x0.8 on an answer slower than half the attempt timeout or than
//! four times the recent fastest one (and 100 ms more); x0.5 on a timeout or a server error,
//! and on a throttle once a quarter of the entries answered lately were throttled. Below that
//! share a throttle (a blip, another publisher of the account) is retried without slowing
//! everything down; above it the relay is over its quota, and a throttle also paces requests
//! at 70% of the entries accepted over the last second (as the AWS SDKs' adaptive retry mode's
//! client-side rate limiter does), a pace that grows by about 10% a second, so retries do not
//! find the quota spent again. At most one decrease per round trip: answers to requests sent
//! before the last decrease say nothing about the window since.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The window a relay starts with (what it kept fixed before it learned).
pub const INITIAL_IN_FLIGHT: usize = 8;
/// The default bound of the window: a 1,000-record batch's 100 requests in flight at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100;
/// An answer is slow when it took four times the recent fastest one and this much longer.
const SLOW_MARGIN: Duration = Duration::from_millis(100);
/// An answer is fast (the window may grow) within twice the recent fastest one, or this much
/// more (jitter of a few milliseconds says nothing on a fast network).
const FAST_MARGIN: Duration = Duration::from_millis(20);
/// Answers over which the recent fastest one is taken.
const BASELINE_ANSWERS: u32 = 64;

/// What an answer says about the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered, nothing throttled.
    Clean,
    /// EventBridge throttled the request or some of its entries.
    Throttled,
    /// No answer within the attempt timeout.
    TimedOut,
    /// A server error or a broken connection.
    Failed,
}

/// Why no request may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The window is full: wait for an answer (or for another batch to free a slot).
    Full,
    /// The quota share is spent until then.
    Until(Instant),
}

/// The shared window. See the module's documentation.
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    /// Whether answers move the window (not for [`Limiter::fixed`]).
    adaptive: bool,
    /// The declared quota share, in entries per second.
    rate: Option<f64>,
    attempt_timeout: Duration,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    /// The window at the last decrease: slow start below it.
    threshold: f64,
    in_flight: usize,
    /// The pace learned from the last throttle, in entries per second.
    pace: Option<f64>,
    tokens: f64,
    refilled: Instant,
    /// Entries accepted in each tenth of the last second (`bins[i]` counts the tenth `i`
    /// mod 10 since `started`).
    bins: [f64; BINS],
    /// The tenth the last count went to.
    bin: u64,
    started: Instant,
    /// The share of entries throttled lately (a moving average over 16 answers).
    throttled_share: f64,
    fastest: Duration,
    fastest_before: Duration,
    answers: u32,
    last_decrease: Option<Instant>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(DEFAULT_MAX_IN_FLIGHT, None, Duration::from_secs(5))
    }
}

impl Limiter {
    /// A window of at most `max` requests (at least 1), at most `rate` entries per second when
    /// given, for requests that time out after `attempt_timeout`.
    pub fn new(max: usize, rate: Option<f64>, attempt_timeout: Duration) -> Self {
        let max = max.max(1);
        let rate = rate.filter(|r| *r > 0.0);
        Limiter {
            max,
            adaptive: true,
            rate,
            attempt_timeout,
            state: Mutex::new(State {
                limit: INITIAL_IN_FLIGHT.min(max) as f64,
                threshold: max as f64,
                in_flight: 0,
                pace: None,
                tokens: rate.map_or(0.0, burst),
                refilled: Instant::now(),
                bins: [0.0; BINS],
                bin: 0,
                started: Instant::now(),
                throttled_share: 0.0,
                fastest: Duration::MAX,
                fastest_before: Duration::MAX,
                answers: 0,
                last_decrease: None,
            }),
            freed: Notify::new(),
        }
    }

    /// A window that never moves: exactly `n` requests in flight (benchmarks compare with it).
    pub fn fixed(n: usize) -> Self {
        let mut limiter = Limiter::new(n, None, Duration::MAX);
        limiter.adaptive = false;
        limiter.lock().limit = limiter.max as f64;
        limiter
    }

    /// Requests that may be in flight now.
    pub fn window(&self) -> usize {
        self.lock().limit as usize
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for one request, or why not now.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Blocked> {
        let mut state = self.lock();
        if state.in_flight >= state.limit as usize {
            return Err(Blocked::Full);
        }
        let now = Instant::now();
        if let Some(rate) = state.rate(self.rate) {
            let elapsed = now.duration_since(state.refilled).as_secs_f64();
            // A learned pace goes out evenly, a request at a time; a declared share allows a
            // tenth of a second's burst.
            let burst = if state.pace.is_some_and(|p| p <= rate) {
                PACED_BURST
            } else {
                burst(rate)
            };
            state.tokens = (state.tokens + elapsed * rate).min(burst);
            state.refilled = now;
            if state.tokens < 1.0 {
                let wait = Duration::from_secs_f64((1.0 - state.tokens) / rate);
                return Err(Blocked::Until(now + wait));
            }
        }
        state.in_flight += 1;
        let grows = state.in_flight as f64 >= state.limit / 2.0;
        Ok(Permit {
            limiter: self,
            sent: now,
            grows,
            entries: 0,
        })
    }

    /// Whether a request could go out now (ignoring the quota share).
    pub fn has_room(&self) -> bool {
        let state = self.lock();
        state.in_flight < state.limit as usize
    }

    /// Resolves when a slot is freed. Create it (and [`tokio::sync::futures::Notified::enable`]
    /// it) before checking [`Limiter::has_room`], so a slot freed in between is not missed.
    pub fn freed(&self) -> tokio::sync::futures::Notified<'_> {
        self.freed.notified()
    }

    fn release(&self) {
        self.lock().in_flight -= 1;
        self.freed.notify_waiters();
    }

    fn learn(&self, permit: &Permit<'_>, signal: Signal, accepted: usize) -> bool {
        if !self.adaptive {
            return false;
        }
        let now = Instant::now();
        let latency = now.duration_since(permit.sent);
        let mut state = self.lock();
        state.count(now, accepted);
        let throttled = match signal {
            Signal::Throttled => permit.entries.saturating_sub(accepted).max(1),
            _ => 0,
        };
        let share = throttled as f64 / permit.entries.max(1) as f64;
        state.throttled_share += (share - state.throttled_share) / 16.0;
        let decrease = match signal {
            // A throttle now and then (a blip, another publisher of the account) is retried
            // on its own; a quarter of the entries answered lately says the relay is over
            // its quota.
            Signal::Throttled if state.throttled_share < OVER_QUOTA => None,
            Signal::Throttled | Signal::TimedOut | Signal::Failed => Some(0.5),
            Signal::Clean => {
                state.answers += 1;
                if state.answers >= BASELINE_ANSWERS {
                    state.answers = 0;
                    state.fastest_before = state.fastest;
                    state.fastest = Duration::MAX;
                }
                state.fastest = state.fastest.min(latency);
                let baseline = state.fastest.min(state.fastest_before);
                let slow = latency > self.attempt_timeout / 2
                    || latency > (baseline * 4).max(baseline.saturating_add(SLOW_MARGIN));
                if slow {
                    Some(0.8)
                } else {
                    let fast = latency <= (baseline * 2).max(baseline.saturating_add(FAST_MARGIN));
                    if permit.grows && fast && latency <= self.attempt_timeout / 4 {
                        state.limit += if state.limit < state.threshold {
                            1.0
                        } else {
                            1.0 / state.limit
                        };
                        state.limit = state.limit.min(self.max as f64);
                    }
                    None
                }
            }
        };
        let Some(factor) = decrease else {
            return false;
        };
        if state.last_decrease.is_some_and(|at| permit.sent <= at) {
            // Sent before the last decrease: it says nothing about the window since.
            return false;
        }
        state.limit = (state.limit * factor).max(1.0);
        state.threshold = state.limit;
        state.last_decrease = Some(now);
        if signal == Signal::Throttled {
            // Nothing accepted lately says nothing about the quota: the window and the
            // backoff slow down alone.
            let rate = state.accepted_rate(now);
            state.pace = (rate > 0.0).then(|| (rate * 0.7).max(MIN_PACE));
            state.tokens = 0.0;
            state.refilled = now;
        }
        true
    }
}

/// The share of entries throttled lately over which a throttle says the relay is over its
/// quota.
const OVER_QUOTA: f64 = 0.25;
/// Tenths of a second over which accepted entries are counted.
const BINS: usize = 10;
/// The shortest time a rate is measured over: shorter, a burst the quota allowed at first
/// would read as the quota.
const SHORTEST_MEASURE: Duration = Duration::from_millis(250);

/// What a learned pace lets out at once: one full request's entries.
const PACED_BURST: f64 = 10.0;
/// The slowest pace a throttle sets, in entries per second.
const MIN_PACE: f64 = 10.0;
impl State {
    /// The pace requests go out at: the declared quota share, the learned pace, the lower.
    fn rate(&self, declared: Option<f64>) -> Option<f64> {
        match (declared, self.pace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The tenth of a second `now` is in, since `started`.
    fn tenth(&self, now: Instant) -> u64 {
        (now.duration_since(self.started).as_millis() / 100) as u64
    }

    /// Counts `accepted` entries in the current tenth of a second, and grows the learned pace
    /// by 1% a tenth of a second.
    fn count(&mut self, now: Instant, accepted: usize) {
        let tenth = self.tenth(now);
        let passed = tenth.saturating_sub(self.bin);
        for step in 1..=passed.min(BINS as u64) {
            self.bins[((self.bin + step) % BINS as u64) as usize] = 0.0;
        }
        if passed > 0
            && let Some(pace) = self.pace
        {
            self.pace = Some(pace * (1.0 + 0.01 * passed as f64));
        }
        self.bin = tenth;
        self.bins[(tenth % BINS as u64) as usize] += accepted as f64;
    }

    /// Entries accepted per second over the last second (or since the first answer, but over
    /// at least a quarter of a second).
    fn accepted_rate(&self, now: Instant) -> f64 {
        let over = now
            .duration_since(self.started)
            .clamp(SHORTEST_MEASURE, Duration::from_secs(1));
        self.bins.iter().sum::<f64>() / over.as_secs_f64()
    }
}

/// A request's burst: a tenth of a second of the quota share, at least one full request.
fn burst(rate: f64) -> f64 {
    (rate / 10.0).max(10.0)
}

/// One request's slot in the window: freed when dropped; [`Permit::answered`] also tells the
/// window what the answer said.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    sent: Instant,
    /// The window was at least half used when it was taken: only then does a clean answer
    /// say the window could be larger.
    grows: bool,
    /// Entries of the request.
    entries: usize,
}

impl Permit<'_> {
    /// The request of `entries` entries goes out now: they are taken from the quota share.
    pub fn spend(&mut self, entries: usize) {
        self.sent = Instant::now();
        self.entries = entries;
        let mut state = self.limiter.lock();
        if state.rate(self.limiter.rate).is_some() {
            state.tokens -= entries as f64;
        }
    }

    /// The request was answered with `signal`, and `accepted` of its entries were published.
    /// True when the answer made the window back off: then nothing new should go out before
    /// its retries' backoff is over.
    pub fn answered(self, signal: Signal, accepted: usize) -> bool {
        self.limiter.learn(&self, signal, accepted)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(limiter: &Limiter, signal: Signal) {
        let permit = limiter.try_acquire().expect("a slot");
        permit.answered(signal, 0);
    }

    #[test]
    fn grows_on_clean_answers_up_to_its_bound() {
        let limiter = Limiter::new(20, None, Duration::from_secs(5));
        assert_eq!(limiter.window(), 8);
        for _ in 0..100 {
            let permits: Vec<_> = (0..limiter.window())
                .map(|_| limiter.try_acquire().expect("a slot"))
                .collect();
            for p in permits {
                p.answered(Signal::Clean, 10);
            }
        }
        assert_eq!(limiter.window(), 20);
        assert_eq!(limiter.try_acquire().map(|_| ()), Ok(()));
    }

    #[test]
    fn halves_once_per_round_trip_and_paces_below_what_was_accepted_on_throttling() {
        let limiter = Limiter::new(64, None, Duration::from_secs(5));
        let permits: Vec<_> = (0..8).map(|_| limiter.try_acquire().unwrap()).collect();
        assert_eq!(limiter.try_acquire().err(), Some(Blocked::Full));
        std::thread::sleep(Duration::from_millis(50));
        // Every request of the round is throttled but the first (and one sent after it): one
        // decrease.
        let mut permits = permits.into_iter();
        permits.next().unwrap().answered(Signal::Clean, 100);
        let later: Vec<_> = (0..1).map(|_| limiter.try_acquire().unwrap()).collect();
        for p in permits {
            p.answered(Signal::Throttled, 0);
        }
        assert_eq!(limiter.window(), 4);
        // 100 entries accepted in the first 50 ms, counted over at least a quarter of a second
        // (a burst at first is not the quota): 400 a second; the pace is 70% of it, and starts
        // empty.
        let pace = limiter.lock().pace.expect("a pace");
        assert!((270.0..=290.0).contains(&pace), "{pace}");
        assert!(matches!(limiter.try_acquire(), Err(Blocked::Until(_))));
        // Sent before the decrease, throttled after it: no second decrease.
        for p in later {
            p.answered(Signal::Throttled, 0);
        }
        assert_eq!(limiter.window(), 4);
    }

    #[test]
    fn a_throttle_now_and_then_is_no_reason_to_back_off() {
        let limiter = Limiter::new(64, None, Duration::from_secs(5));
        for n in 0..400 {
            let permits: Vec<_> = (0..limiter.window())
                .map(|_| {
                    let mut p = limiter.try_acquire().expect("a slot");
                    p.spend(10);
                    p
                })
                .collect();
            for (i, p) in permits.into_iter().enumerate() {
                // One request in 20 throttled, whole.
                let throttled = (n * 64 + i) % 20 == 0;
                let backed_off = if throttled {
                    p.answered(Signal::Throttled, 0)
                } else {
                    p.answered(Signal::Clean, 10)
                };
                assert!(!backed_off, "answer {n}/{i}");
            }
        }
        assert_eq!(limiter.window(), 64);
        assert!(limiter.lock().pace.is_none());
    }

    #[test]
    fn a_fixed_window_never_moves() {
        let limiter = Limiter::fixed(3);
        for signal in [Signal::Clean, Signal::Throttled, Signal::Clean] {
            answer(&limiter, signal);
        }
        assert_eq!(limiter.window(), 3);
    }

    #[test]
    fn the_quota_share_holds_requests_back() {
        let limiter = Limiter::new(64, Some(100.0), Duration::from_secs(5));
        let mut permit = limiter.try_acquire().expect("the burst");
        permit.spend(10);
        drop(permit);
        match limiter.try_acquire() {
            Err(Blocked::Until(at)) => {
                let wait = at - Instant::now();
                assert!(wait > Duration::from_millis(1) && wait <= Duration::from_millis(10));
            }
            other => panic!("expected a wait, got {other:?}"),
        }
    }
}
