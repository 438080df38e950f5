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

/// Appends a counter of the application's, one value per `label` value, in the same format.
pub(crate) fn write_counter(out: &mut String, name: &str, help: &str, label: &str, values: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_is_written_per_label_value() {
        let mut out = String::new();
        write_counter(&mut out, "x_total", "Things.", "source", &[("kept", 3), ("computed", 1)]);
        assert_eq!(
            out,
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{source=\"kept\"} 3\nx_total{source=\"computed\"} 1\n"
        );
    }
}
