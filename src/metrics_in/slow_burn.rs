//! One slow-burn rule evaluated at a moment: the mean of its query over the
//! window just past, against the mean over the baseline before that window,
//! both as Prometheus subqueries:
//!
//! ```text
//! recent   = avg_over_time((QUERY)[window:step])
//! baseline = avg_over_time((QUERY)[baseline:step] offset window)
//! ```
//!
//! A rise (or, for a negative threshold, a fall) of at least the threshold,
//! in percent of the baseline, is a degradation.

use super::{MetricsSource, SlowBurnRule, prometheus};
use chrono::{DateTime, Utc};

/// What a rule found.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Within the threshold.
    Healthy(Figures),
    /// Past it.
    Degraded(Figures),
    /// Not known: Prometheus could not say (the reason).
    Unavailable(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub recent: f64,
    pub baseline: f64,
    /// `recent` against `baseline`, in percent.
    pub change_pct: f64,
}

/// The two subqueries.
pub fn queries(rule: &SlowBurnRule) -> (String, String) {
    let (window, baseline, step) = (rule.window_seconds(), rule.baseline_seconds(), rule.step_seconds());
    let q = rule.query.trim();
    (
        format!("avg_over_time(({q})[{window}s:{step}s])"),
        format!("avg_over_time(({q})[{baseline}s:{step}s] offset {window}s)"),
    )
}

/// Whether `figures` pass `threshold` (percent; negative: a fall).
pub fn past(threshold: f64, change_pct: f64) -> bool {
    if threshold > 0.0 { change_pct >= threshold } else { change_pct <= threshold }
}

/// `rule` at `at`.
pub async fn evaluate(http: &reqwest::Client, source: &MetricsSource, rule: &SlowBurnRule, at: DateTime<Utc>) -> Check {
    let (recent_q, baseline_q) = queries(rule);
    let (recent, baseline) =
        tokio::join!(prometheus::query(http, source, &recent_q, at), prometheus::query(http, source, &baseline_q, at));
    let (recent, baseline) = match (recent, baseline) {
        (Ok(r), Ok(b)) => (r, b),
        (Err(e), _) => return Check::Unavailable(e),
        (_, Err(e)) => return Check::Unavailable(format!("baseline: {e}")),
    };
    if baseline == 0.0 {
        return Check::Unavailable("the baseline is 0: no change can be measured against it".into());
    }
    let change_pct = (recent - baseline) / baseline.abs() * 100.0;
    let figures = Figures { recent, baseline, change_pct };
    if past(rule.threshold, change_pct) { Check::Degraded(figures) } else { Check::Healthy(figures) }
}

/// A link to the trend in Prometheus's own graph: the query over the
/// baseline and the window.
pub fn trend_url(source: &MetricsSource, rule: &SlowBurnRule) -> String {
    let base = source.prometheus.trim_end_matches('/');
    let expr: String = form_urlencoded::byte_serialize(rule.query.trim().as_bytes()).collect();
    let range = rule.baseline_seconds() + rule.window_seconds();
    format!("{base}/graph?g0.expr={expr}&g0.tab=0&g0.range_input={range}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_compared_with_the_baseline_before_it() {
        let rule = SlowBurnRule {
            name: "p99".into(),
            service: "payments-service".into(),
            query: "histogram_quantile(0.99, x)".into(),
            baseline: "30d".into(),
            window: "7d".into(),
            threshold: 20.0,
            every: None,
            step: Some("1h".into()),
        };
        let (recent, baseline) = queries(&rule);
        assert_eq!(recent, "avg_over_time((histogram_quantile(0.99, x))[604800s:3600s])");
        assert_eq!(baseline, "avg_over_time((histogram_quantile(0.99, x))[2592000s:3600s] offset 604800s)");
        assert!(past(20.0, 27.0) && !past(20.0, 19.9) && past(-20.0, -25.0) && !past(-20.0, 25.0));
    }
}
