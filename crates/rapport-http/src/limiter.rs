//! Rate limiting of sign-in attempts, per client address and per email.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Allows a burst of attempts per minute for each address and each email.
#[derive(Clone)]
pub struct LoginLimiter {
    by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    by_email: Arc<DefaultKeyedRateLimiter<String>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(n);
        Self { by_ip: Arc::new(RateLimiter::keyed(quota)), by_email: Arc::new(RateLimiter::keyed(quota)) }
    }

    /// `Err(seconds)` to wait when either key is over its quota.
    pub fn check(&self, ip: Option<IpAddr>, email: &str) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let wait = |nu: governor::NotUntil<_>| nu.wait_time_from(clock.now()).as_secs().max(1);
        if let Some(ip) = ip {
            self.by_ip.check_key(&ip).map_err(wait)?;
        }
        self.by_email.check_key(&email.trim().to_lowercase()).map_err(wait)?;
        if self.by_email.len() > 100_000 {
            self.by_email.retain_recent();
            self.by_ip.retain_recent();
        }
        Ok(())
    }
}
