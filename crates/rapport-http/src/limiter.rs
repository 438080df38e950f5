//! Rate limiting of failed sign-ins, per client address and per email.
//!
//! Only failures count: an office behind one address where everyone signs in at nine, or a
//! user signing in from several devices, is never held back, while guessing passwords is.
//! Past `limit` failures within a minute for the address or the email, every attempt is
//! refused (with the right password too) until the oldest of them is a minute old. A
//! log of failure times per key, not a token bucket (`governor`, used before, counts every
//! attempt and cannot look without taking).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far back failures count.
const WINDOW: Duration = Duration::from_secs(60);

/// Keys kept at most before those with no failure in the window are dropped.
const PRUNE_PAST: usize = 100_000;

/// The failure times of each key within the window, at most `limit` each.
struct Failures<K> {
    log: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq> Failures<K> {
    fn new() -> Self {
        Self { log: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(wait)` while the key has `limit` failures within the window: the log keeps
    /// the last `limit`, so it is full and its oldest is within the window.
    fn blocked(&self, key: &K, limit: usize, now: Instant) -> Option<Duration> {
        let log = self.lock();
        let times = log.get(key).filter(|t| t.len() >= limit)?;
        WINDOW.checked_sub(now.duration_since(*times.front()?)).filter(|wait| !wait.is_zero())
    }

    fn record(&self, key: K, limit: usize, now: Instant) {
        let mut log = self.lock();
        if log.len() > PRUNE_PAST {
            log.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let times = log.entry(key).or_default();
        times.push_back(now);
        while times.len() > limit {
            times.pop_front();
        }
    }
}

/// Failed sign-ins per address and per email.
#[derive(Clone)]
pub struct LoginLimiter {
    limit: usize,
    by_ip: Arc<Failures<IpAddr>>,
    by_email: Arc<Failures<String>>,
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whole seconds to wait, at least one.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl LoginLimiter {
    /// Refuses past `per_minute` failures a minute per address and per email.
    pub fn new(per_minute: u32) -> Self {
        Self {
            limit: per_minute.max(1) as usize,
            by_ip: Arc::new(Failures::new()),
            by_email: Arc::new(Failures::new()),
        }
    }

    /// `Err(seconds)` to wait when the address or the email has failed too often.
    pub fn check(&self, ip: Option<IpAddr>, email: &str) -> Result<(), u64> {
        self.check_at(ip, email, Instant::now())
    }

    fn check_at(&self, ip: Option<IpAddr>, email: &str, now: Instant) -> Result<(), u64> {
        let by_ip = ip.and_then(|ip| self.by_ip.blocked(&ip, self.limit, now));
        let by_email = self.by_email.blocked(&email_key(email), self.limit, now);
        match by_ip.into_iter().chain(by_email).max() {
            Some(wait) => Err(seconds(wait)),
            None => Ok(()),
        }
    }

    /// A sign-in from `ip` for `email` failed.
    pub fn failed(&self, ip: Option<IpAddr>, email: &str) {
        self.failed_at(ip, email, Instant::now());
    }

    fn failed_at(&self, ip: Option<IpAddr>, email: &str, now: Instant) {
        if let Some(ip) = ip {
            self.by_ip.record(ip, self.limit, now);
        }
        self.by_email.record(email_key(email), self.limit, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn the_failure_past_the_limit_blocks_for_the_rest_of_the_minute() {
        let l = LoginLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.check_at(IP, "a@example.com", t0), Ok(()), "attempt {i}");
            l.failed_at(IP, "a@example.com", t0 + Duration::from_secs(i));
        }
        // The oldest failure (at t0) is a minute old at t0 + 60 s.
        assert_eq!(l.check_at(None, " A@Example.com", t0 + Duration::from_secs(10)), Err(50));
        assert_eq!(l.check_at(IP, "other@example.com", t0 + Duration::from_secs(10)), Err(50), "the address too");
        assert_eq!(l.check_at(None, "other@example.com", t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(l.check_at(IP, "a@example.com", t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn only_failures_count() {
        // Checks alone (sign-ins that succeed) never block.
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        for i in 0..100 {
            assert_eq!(l.check_at(IP, "a@example.com", t0 + Duration::from_millis(i)), Ok(()));
        }
        l.failed_at(IP, "a@example.com", t0);
        assert_eq!(l.check_at(IP, "a@example.com", t0), Ok(()));
        l.failed_at(IP, "a@example.com", t0 + Duration::from_millis(500));
        assert_eq!(l.check_at(IP, "a@example.com", t0 + Duration::from_secs(1)), Err(59));
    }
}
