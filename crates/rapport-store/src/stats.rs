//! The tenant-wide customer counters (SPEC section 9, `GET /customers/stats`).
//!
//! Every customer write adds the difference between the counters of the row after and
//! before it (`counters(new) - counters(old)`) to one row per tenant and counter, in the
//! same transaction; reading the figures is then a handful of rows, whatever the tenant's
//! size. Only live (not deleted) customers count.

use std::collections::BTreeMap;

use rapport_core::customer::{CustomerType, LifecycleStage, Status};

/// Live customers.
pub const CUSTOMERS: &str = "customers";
/// The sum of `total_revenue` of live customers, in minor units of the base currency.
pub const TOTAL_REVENUE: &str = "total_revenue";
/// How many transactions rewrote the tenant's engagement per day: not a customer figure but
/// a version that only grows (rebuilding the counters keeps it), so an answer computed from
/// the engagement rows can be kept while it has not moved.
pub const ENGAGEMENT_CHANGES: &str = "engagement_changes";

/// What a customer row adds to the counters. The vocabulary values are the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterRow<'a> {
    pub live: bool,
    pub customer_type: &'a str,
    pub status: &'a str,
    pub lifecycle_stage: &'a str,
    pub total_revenue: i64,
}

impl CounterRow<'_> {
    /// The counters this row adds to: nothing when deleted.
    pub fn counters(&self) -> Vec<(String, i64)> {
        if !self.live {
            return Vec::new();
        }
        vec![
            (CUSTOMERS.to_string(), 1),
            (format!("status:{}", self.status), 1),
            (format!("type:{}", self.customer_type), 1),
            (format!("lifecycle:{}", self.lifecycle_stage), 1),
            (TOTAL_REVENUE.to_string(), self.total_revenue),
        ]
    }
}

/// Adds `new - old` to `deltas`, dropping counters whose change is zero.
pub fn add_delta(deltas: &mut BTreeMap<String, i64>, old: Option<&CounterRow<'_>>, new: Option<&CounterRow<'_>>) {
    for (k, v) in new.map(CounterRow::counters).unwrap_or_default() {
        *deltas.entry(k).or_default() += v;
    }
    for (k, v) in old.map(CounterRow::counters).unwrap_or_default() {
        *deltas.entry(k).or_default() -= v;
    }
    deltas.retain(|_, v| *v != 0);
}

/// The figures of a tenant's live customers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerStats {
    pub total: i64,
    pub by_status: BTreeMap<&'static str, i64>,
    pub by_type: BTreeMap<&'static str, i64>,
    pub by_lifecycle_stage: BTreeMap<&'static str, i64>,
    /// Minor units of the tenant's base currency.
    pub total_revenue: i64,
}

impl CustomerStats {
    /// Reads the counters of one tenant; every value of each vocabulary is present.
    pub fn from_counters(counters: &[(String, i64)]) -> Self {
        let get = |k: &str| counters.iter().find(|(key, _)| key == k).map(|(_, v)| *v).unwrap_or(0);
        Self {
            total: get(CUSTOMERS),
            by_status: Status::ALL.iter().map(|s| (s.as_str(), get(&format!("status:{}", s.as_str())))).collect(),
            by_type: CustomerType::ALL.iter().map(|t| (t.as_str(), get(&format!("type:{}", t.as_str())))).collect(),
            by_lifecycle_stage: LifecycleStage::ALL
                .iter()
                .map(|l| (l.as_str(), get(&format!("lifecycle:{}", l.as_str()))))
                .collect(),
            total_revenue: get(TOTAL_REVENUE),
        }
    }

    /// Total revenue per live customer, rounded to the nearest minor unit (002's
    /// avgCustomerValue: 2,500,000 over 150 customers is 16,667).
    pub fn average_value(&self) -> i64 {
        if self.total <= 0 {
            return 0;
        }
        let (t, n) = (i128::from(self.total_revenue), i128::from(self.total));
        let q = (2 * t.abs() + n) / (2 * n);
        i64::try_from(if t < 0 { -q } else { q }).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(live: bool, status: &'static str, revenue: i64) -> CounterRow<'static> {
        CounterRow { live, customer_type: "individual", status, lifecycle_stage: "lead", total_revenue: revenue }
    }

    #[test]
    fn deltas_are_after_minus_before() {
        let mut d = BTreeMap::new();
        add_delta(&mut d, None, Some(&row(true, "active", 100)));
        assert_eq!(d["customers"], 1);
        assert_eq!(d["total_revenue"], 100);
        let mut d = BTreeMap::new();
        add_delta(&mut d, Some(&row(true, "active", 100)), Some(&row(true, "inactive", 100)));
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!((d["status:active"], d["status:inactive"]), (-1, 1));
        let mut d = BTreeMap::new();
        add_delta(&mut d, Some(&row(true, "active", 7)), Some(&row(false, "active", 7)));
        assert_eq!((d["customers"], d["total_revenue"], d["type:individual"]), (-1, -7, -1));
    }

    #[test]
    fn seed_002_average() {
        let s = CustomerStats::from_counters(&[("customers".into(), 150), ("total_revenue".into(), 2_500_000)]);
        assert_eq!(s.average_value(), 16_667);
        assert_eq!(s.by_type["business"], 0);
        assert_eq!(CustomerStats::default().average_value(), 0);
    }
}
