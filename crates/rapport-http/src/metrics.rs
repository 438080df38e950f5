//! Request counters and latency sums in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

/// Method, route and status.
type SeriesKey = (String, String, u16);

/// Per method, route and status: how many requests and how long they took in all.
#[derive(Clone, Default)]
pub struct Metrics {
    series: Arc<Mutex<BTreeMap<SeriesKey, Series>>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        if let Ok(mut m) = self.series.lock() {
            let s = m.entry((method.to_string(), route.to_string(), status)).or_default();
            s.count += 1;
            s.seconds += took.as_secs_f64();
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP rapport_http_requests_total HTTP requests served.\n# TYPE rapport_http_requests_total counter\n",
        );
        let Ok(m) = self.series.lock() else { return out };
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "rapport_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                route.replace('"', ""),
                s.count
            );
        }
        out.push_str("# HELP rapport_http_request_seconds_total Time spent serving HTTP requests.\n# TYPE rapport_http_request_seconds_total counter\n");
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "rapport_http_request_seconds_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {:.6}",
                route.replace('"', ""),
                s.seconds
            );
        }
        out
    }
}
