//! Rate limiting of failed sign-ins, per client address and per email.
//!
//! Only failures count: an office behind one address where everyone signs in at nine, or a
//! user signing in from several devices, is never refused, while guessing passwords is.
//! Past `limit` failures within a minute for the address or the email, every attempt is
//! refused (with the right password too) until the oldest of them is a minute old. A
//! log of failure times per key, not a token bucket (`governor`, used before, counts every
//! attempt and cannot look without taking).
//!
//! An attempt still running may yet fail, so it holds a place until it ends: past `limit`
//! failures and running attempts, a new attempt waits for one to end (at most `WAIT_AT_MOST`)
//! instead of running beside them. Attempts sent together therefore get no more tries than
//! attempts sent one by one, and an honest crowd behind one address only waits its turn.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far back failures count.
const WINDOW: Duration = Duration::from_secs(60);

/// How long an attempt waits for running ones to end before it is refused.
const WAIT_AT_MOST: Duration = Duration::from_secs(5);

/// What a refusal after that wait asks to wait more.
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

    /// How long the key is refused for, when it failed `limit` times within the window:
    /// until enough of those failures are a minute old for one more attempt.
    fn refusal(&self, limit: usize, now: Instant) -> Option<Duration> {
        let recent = self.recent(now).count();
        (recent >= limit).then(|| {
            let frees = self.recent(now).nth(recent - limit).copied();
            frees.map_or(PENDING_WAIT, |t| WINDOW.saturating_sub(now.duration_since(t)))
        })
    }
}

/// What a key says to a new attempt.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// It runs, holding a place until it ends.
    Taken,
    /// Failed too often: refused for this long.
    Refused(Duration),
    /// Attempts running fill the rest of the limit: to wait for one to end.
    Full,
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

    /// Starts an attempt when the key's failures within the window and its attempts
    /// running (each may fail) stay below `limit`, checked and counted at once.
    fn begin(&self, key: &K, limit: usize, now: Instant) -> Place {
        let mut log = self.lock();
        if log.len() > PRUNE_PAST {
            log.retain(|_, e| e.running > 0 || e.recent(now).next().is_some());
        }
        let entry = log.entry(key.clone()).or_default();
        if let Some(wait) = entry.refusal(limit, now) {
            return Place::Refused(wait);
        }
        let recent = entry.recent(now).count();
        if recent + entry.running >= limit {
            return Place::Full;
        }
        entry.running += 1;
        Place::Taken
    }

    /// How long the key is refused for now, if it is (a look that starts nothing).
    fn refusal<Q: Hash + Eq + ?Sized>(&self, key: &Q, limit: usize, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.lock().get(key).and_then(|e| e.refusal(limit, now))
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
    /// Told whenever an attempt ends, for those waiting for a place.
    ended: Arc<tokio::sync::Notify>,
}

/// The email as sign-in finds its account (`Email::normalized`: a domain in another
/// spelling, full-width letters say, is the same account, so it is the same key).
fn email_key(email: &str) -> String {
    match rapport_core::contact::Email::parse("email", email) {
        Ok(e) => e.normalized().to_string(),
        Err(_) => email.trim().to_lowercase(),
    }
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
        l.ended.notify_waiters();
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
            ended: Arc::default(),
        }
    }

    /// Starts a sign-in from `ip` for `email`, or `Err(seconds)` to wait when the address or
    /// the email has failed too often. While attempts running fill the rest of the limit,
    /// it waits for one of them to end.
    pub async fn begin(&self, ip: Option<IpAddr>, email: &str) -> Result<Attempt, u64> {
        let deadline = tokio::time::Instant::now() + WAIT_AT_MOST;
        let email = email_key(email);
        loop {
            // Registered before looking, so an attempt ending in between is not missed.
            let ended = self.ended.notified();
            match self.begin_keyed(ip, &email, Instant::now()) {
                Begun::Started(a) => return Ok(a),
                Begun::Refused(wait) => return Err(seconds(wait)),
                Begun::Wait => {
                    if tokio::time::timeout_at(deadline, ended).await.is_err() {
                        return Err(seconds(PENDING_WAIT));
                    }
                }
            }
        }
    }

    /// One look at both keys (`email` already as `email_key` spells it).
    fn begin_keyed(&self, ip: Option<IpAddr>, email: &str, now: Instant) -> Begun {
        if let Some(ip) = &ip {
            match self.by_ip.begin(ip, self.limit, now) {
                Place::Taken => {}
                Place::Refused(wait) => return Begun::Refused(wait),
                // Waiting for the address is pointless when the email is refused anyway.
                Place::Full => {
                    return match self.by_email.refusal(email, self.limit, now) {
                        Some(wait) => Begun::Refused(wait),
                        None => Begun::Wait,
                    }
                }
            }
        }
        let email = email.to_string();
        let by_email = self.by_email.begin(&email, self.limit, now);
        if by_email != Place::Taken {
            // The address's place is given back.
            if let Some(ip) = &ip {
                self.by_ip.end(ip, self.limit, None);
            }
            return match by_email {
                Place::Refused(wait) => Begun::Refused(wait),
                _ => Begun::Wait,
            };
        }
        Begun::Started(Attempt { limiter: self.clone(), ip, email, ended: false })
    }
}

/// What a new attempt meets, for both keys.
enum Begun {
    Started(Attempt),
    Refused(Duration),
    Wait,
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    impl LoginLimiter {
        /// One look, at `now`, as `begin` looks before it waits.
        fn try_begin_at(&self, ip: Option<IpAddr>, email: &str, now: Instant) -> Begun {
            self.begin_keyed(ip, &email_key(email), now)
        }
    }

    impl Begun {
        fn attempt(self) -> Attempt {
            match self {
                Begun::Started(a) => a,
                _ => panic!("not started"),
            }
        }

        /// Whole seconds to wait when refused.
        fn refused(&self) -> Option<u64> {
            match self {
                Begun::Refused(w) => Some(seconds(*w)),
                _ => None,
            }
        }

        fn waits(&self) -> bool {
            matches!(self, Begun::Wait)
        }
    }

    fn fail(l: &LoginLimiter, ip: Option<IpAddr>, email: &str, at: Instant) {
        l.try_begin_at(ip, email, at).attempt().failed_at(at);
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
        assert_eq!(l.try_begin_at(None, " A@Example.COM", at).refused(), Some(50));
        assert_eq!(l.try_begin_at(IP, "other@example.com", at).refused(), Some(50), "the address too");
        assert!(l.try_begin_at(None, "other@example.com", at).refused().is_none());
        assert!(l.try_begin_at(IP, "a@example.com", t0 + Duration::from_secs(60)).refused().is_none());
    }

    #[test]
    fn another_spelling_of_the_domain_is_the_same_email() {
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        fail(&l, None, "victim@example.com", t0);
        fail(&l, None, "victim@ｅxample.com", t0);
        assert_eq!(l.try_begin_at(None, "victim@EXAMPLE.com", t0).refused(), Some(60));
    }

    #[test]
    fn only_failures_count() {
        // Attempts that succeed (dropped) never block.
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        for i in 0..100 {
            drop(l.try_begin_at(IP, "a@example.com", t0 + Duration::from_millis(i)).attempt());
        }
        fail(&l, IP, "a@example.com", t0);
        drop(l.try_begin_at(IP, "a@example.com", t0).attempt());
        fail(&l, IP, "a@example.com", t0 + Duration::from_millis(500));
        assert_eq!(l.try_begin_at(IP, "a@example.com", t0 + Duration::from_secs(1)).refused(), Some(59));
    }

    #[test]
    fn attempts_running_fill_the_limit_for_those_after_them() {
        // Before, every attempt checked before the first failed ran: a burst of a thousand
        // guesses a minute got through a limit of ten.
        let l = LoginLimiter::new(3);
        let t0 = Instant::now();
        let running: Vec<Attempt> = (0..3).map(|_| l.try_begin_at(IP, "a@example.com", t0).attempt()).collect();
        assert!(l.try_begin_at(IP, "a@example.com", t0).waits(), "three running");
        assert!(l.try_begin_at(IP, "b@example.com", t0).waits(), "the address has three running");
        drop(l.try_begin_at(None, "b@example.com", t0).attempt());
        // They fail: refused for the minute; had they succeeded, the place would be free.
        for a in running {
            a.failed_at(t0);
        }
        assert_eq!(l.try_begin_at(None, "a@example.com", t0 + Duration::from_secs(1)).refused(), Some(59));
        let ok: Vec<Attempt> = (0..3).map(|_| l.try_begin_at(None, "c@example.com", t0).attempt()).collect();
        drop(ok);
        drop(l.try_begin_at(None, "c@example.com", t0).attempt());
    }

    /// A limiter of two a minute whose `email` failed twice at the instant it answers.
    fn refusing(email: &str) -> (LoginLimiter, Instant) {
        let l = LoginLimiter::new(2);
        let t0 = Instant::now();
        for _ in 0..2 {
            fail(&l, None, email, t0);
        }
        (l, t0)
    }

    #[test]
    fn a_refused_email_gives_back_the_address_place() {
        let (l, t0) = refusing("a@example.com");
        for _ in 0..5 {
            assert!(l.try_begin_at(IP, "a@example.com", t0).refused().is_some());
        }
        // The refusals above took no place of the address: two may run from it.
        let _a = l.try_begin_at(IP, "b@example.com", t0).attempt();
        let _b = l.try_begin_at(IP, "c@example.com", t0).attempt();
    }

    #[test]
    fn a_refused_email_behind_a_full_address_is_told_its_wait_at_once() {
        let (l, t0) = refusing("a@example.com");
        let _a = l.try_begin_at(IP, "b@example.com", t0).attempt();
        let _b = l.try_begin_at(IP, "c@example.com", t0).attempt();
        // The address is full of running attempts; the email's own refusal answers, not a
        // wait for the address followed by a guess.
        let later = t0 + Duration::from_secs(20);
        assert_eq!(l.try_begin_at(IP, "a@example.com", later).refused(), Some(40));
        assert!(l.try_begin_at(IP, "d@example.com", later).waits());
    }

    #[tokio::test]
    async fn a_crowd_behind_one_address_waits_its_turn_and_signs_in() {
        let l = LoginLimiter::new(3);
        let signs_in = (0..15).map(|i| {
            let l = l.clone();
            tokio::spawn(async move {
                let attempt = l.begin(IP, &format!("user{i}@example.com")).await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(attempt);
                Ok::<(), u64>(())
            })
        });
        for (i, done) in futures_join(signs_in).await.into_iter().enumerate() {
            assert_eq!(done, Ok(()), "sign-in {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_waits_a_few_seconds_at_most() {
        let l = LoginLimiter::new(1);
        let _running = l.begin(IP, "a@example.com").await.expect("first");
        assert_eq!(l.begin(IP, "b@example.com").await.err(), Some(1));
    }

    async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for t in tasks.collect::<Vec<_>>() {
            out.push(t.await.expect("task"));
        }
        out
    }
}
