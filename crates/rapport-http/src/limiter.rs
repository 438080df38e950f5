//! Rate limiting of failed sign-ins, per client address and per email.
//!
//! Only failures count: an office behind one address where everyone signs in at nine, or a
//! user signing in from several devices, is never held back, while guessing passwords is.
//! Past `limit` failures within a minute for the address or the email, every attempt is
//! refused (with the right password too) until the oldest of them is a minute old. A
//! log of failure times per key, not a token bucket (`governor`, used before, counts every
//! attempt and cannot look without taking). An attempt running counts as a failure until it
//! ends, so attempts sent together pass only up to the limit: checked one by one, each could
//! pass before the first failed.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far back failures count.
const WINDOW: Duration = Duration::from_secs(60);

/// What a refusal owed to attempts still running (not to failures) asks to wait.
const PENDING_WAIT: Duration = Duration::from_secs(1);

/// Keys kept at most before those with nothing running and no failure in the window are
/// dropped.
const PRUNE_PAST: usize = 100_000;

/// One key's failure times within the window (the last `limit` at most) and its attempts
/// running.
#[derive(Default)]
struct Entry {
    failures: VecDeque<Instant>,
    running: usize,
}

impl Entry {
    fn recent(&self, now: Instant) -> impl Iterator<Item = &Instant> {
        self.failures.iter().filter(move |t| now.duration_since(**t) < WINDOW)
    }
}

/// The failures and running attempts of each key.
struct Failures<K> {
    log: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn new() -> Self {
        Self { log: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an attempt unless the key's failures within the window and its attempts
    /// running (each may fail) reach `limit`: checked and counted at once, so attempts sent
    /// together cannot all pass before the first of them fails. `Err(wait)` when refused.
    fn begin(&self, key: &K, limit: usize, now: Instant) -> Result<(), Duration> {
        let mut log = self.lock();
        if log.len() > PRUNE_PAST {
            log.retain(|_, e| e.running > 0 || e.recent(now).next().is_some());
        }
        let entry = log.entry(key.clone()).or_default();
        let recent = entry.recent(now).count();
        if recent + entry.running < limit {
            entry.running += 1;
            return Ok(());
        }
        // Until enough of the failures are a minute old for one more attempt; refused by
        // attempts running alone, a moment (they end in well under a second).
        let freed = recent + entry.running + 1 - limit;
        let frees = entry.recent(now).nth(freed - 1).copied();
        Err(frees.map_or(PENDING_WAIT, |t| WINDOW.saturating_sub(now.duration_since(t))))
    }

    /// An attempt of the key ended; `failed_at` when it failed.
    fn end(&self, key: &K, limit: usize, failed_at: Option<Instant>) {
        let mut log = self.lock();
        let Some(entry) = log.get_mut(key) else { return };
        entry.running = entry.running.saturating_sub(1);
        if let Some(t) = failed_at {
            entry.failures.push_back(t);
            while entry.failures.len() > limit {
                entry.failures.pop_front();
            }
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

/// A sign-in attempt the limiter let through, counted as running until it ends: dropped, it
/// ends as a success (or as abandoned); `failed` ends it as a failure.
pub struct Attempt {
    limiter: LoginLimiter,
    ip: Option<IpAddr>,
    email: String,
    ended: bool,
}

impl Attempt {
    /// The sign-in failed: it counts against the address and the email for a minute.
    pub fn failed(self) {
        self.failed_at(Instant::now());
    }

    fn failed_at(mut self, at: Instant) {
        self.end(Some(at));
    }

    fn end(&mut self, failed_at: Option<Instant>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let l = &self.limiter;
        if let Some(ip) = &self.ip {
            l.by_ip.end(ip, l.limit, failed_at);
        }
        l.by_email.end(&self.email, l.limit, failed_at);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.end(None);
    }
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

    /// Starts a sign-in from `ip` for `email`, or `Err(seconds)` to wait when the address or
    /// the email has failed too often (attempts still running count as failures may).
    pub fn begin(&self, ip: Option<IpAddr>, email: &str) -> Result<Attempt, u64> {
        self.begin_at(ip, email, Instant::now())
    }

    fn begin_at(&self, ip: Option<IpAddr>, email: &str, now: Instant) -> Result<Attempt, u64> {
        let email = email_key(email);
        if let Some(ip) = &ip {
            self.by_ip.begin(ip, self.limit, now).map_err(seconds)?;
        }
        if let Err(wait) = self.by_email.begin(&email, self.limit, now) {
            if let Some(ip) = &ip {
                self.by_ip.end(ip, self.limit, None);
            }
            return Err(seconds(wait));
        }
        Ok(Attempt { limiter: self.clone(), ip, email, ended: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    fn fail(l: &LoginLimiter, ip: Option<IpAddr>, email: &str, at: Instant) {
        l.begin_at(ip, email, at).expect("let through").failed_at(at);
    }

    #[test]
    fn the_failure_past_the_limit_blocks_for_the_rest_of_the_minute() {
        let l = LoginLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            fail(&l, IP, "a@example.com", t0 + Duration::from_secs(i));
        }
        // The oldest failure (at t0) is a minute old at t0 + 60 s.
        let at = t0 + Duration::from_secs(10);
        assert_eq!(l.begin_at(None, " A@Example.com", at).err(), Some(50));
        assert_eq!(l.begin_at(IP, "other@example.com", at).err(), Some(50), "the address too");
        assert!(l.begin_at(None, "other@example.com", at).is_ok());
        assert!(l.begin_at(IP, "a@example.com", t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn only_failures_count() {
        // Attempts that succeed (dropped) never block.
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        for i in 0..100 {
            assert!(l.begin_at(IP, "a@example.com", t0 + Duration::from_millis(i)).is_ok());
        }
        fail(&l, IP, "a@example.com", t0);
        assert!(l.begin_at(IP, "a@example.com", t0).is_ok());
        fail(&l, IP, "a@example.com", t0 + Duration::from_millis(500));
        assert_eq!(l.begin_at(IP, "a@example.com", t0 + Duration::from_secs(1)).err(), Some(59));
    }

    #[test]
    fn attempts_sent_together_pass_only_up_to_the_limit() {
        // Before, every attempt checked before the first failed passed: a burst of a
        // thousand guesses a minute got through a limit of ten.
        let l = LoginLimiter::new(3);
        let t0 = Instant::now();
        let running: Vec<Attempt> = (0..3).map(|_| l.begin_at(IP, "a@example.com", t0).expect("within")).collect();
        assert_eq!(l.begin_at(IP, "a@example.com", t0).err(), Some(1), "three running");
        assert_eq!(l.begin_at(IP, "b@example.com", t0).err(), Some(1), "the address has three running");
        assert!(l.begin_at(None, "b@example.com", t0).is_ok(), "the email alone has none");
        // They fail: the key is blocked for the minute; had they succeeded it would be free.
        for a in running {
            a.failed_at(t0);
        }
        assert_eq!(l.begin_at(None, "a@example.com", t0 + Duration::from_secs(1)).err(), Some(59));
        let ok: Vec<Attempt> = (0..2).map(|_| l.begin_at(None, "c@example.com", t0).expect("within")).collect();
        drop(ok);
        assert!(l.begin_at(None, "c@example.com", t0).is_ok(), "succeeded attempts free their place");
    }

    #[test]
    fn a_refused_email_gives_back_the_address_place() {
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        for _ in 0..2 {
            fail(&l, None, "a@example.com", t0);
        }
        for _ in 0..5 {
            assert!(l.begin_at(IP, "a@example.com", t0).is_err());
        }
        let other = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));
        let _keep = l.begin_at(Some(other), "x@example.com", t0).expect("other address");
        // The refusals above took no place of the address: two may run from it.
        let _a = l.begin_at(IP, "b@example.com", t0).expect("first");
        let _b = l.begin_at(IP, "c@example.com", t0).expect("second");
    }
}
