//! Prometheus's HTTP API: an instant query (`GET /api/v1/query`), read as
//! one number. Whatever keeps the number from being known (no answer in
//! time, an error status, an empty result, a value that is not a number) is
//! an error naming it: the caller says "metrics unavailable", never healthy.

use super::MetricsSource;
use serde::Deserialize;

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

/// The value of `query` at `at` (the first series of a vector).
pub async fn query(
    http: &reqwest::Client,
    source: &MetricsSource,
    query: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<f64, String> {
    let base = source.prometheus.trim_end_matches('/');
    let mut url =
        reqwest::Url::parse(&format!("{base}/api/v1/query")).map_err(|e| format!("metrics.prometheus: {e}"))?;
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("time", &format!("{:.3}", at.timestamp_millis() as f64 / 1000.0));
    let mut request = http.get(url).timeout(source.timeout());
    if let Some(token) = &source.token {
        request = request.bearer_auth(token.read().map_err(|e| format!("metrics.token: {e}"))?.expose());
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("Prometheus gave no answer within {}s", source.timeout().as_secs())
        } else {
            format!("Prometheus cannot be reached: {}", e.without_url())
        }
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("Prometheus's answer was cut: {e}"))?;
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|_| format!("Prometheus answered HTTP {} without its JSON", status.as_u16()))?;
    if answer.status != "success" {
        return Err(format!(
            "Prometheus refused the query ({}): {}",
            answer.error_type.unwrap_or_default(),
            answer.error.unwrap_or_default()
        ));
    }
    let data = answer.data.ok_or("Prometheus answered without data")?;
    let value = match data.result_type.as_str() {
        "scalar" => data.result.get(1).cloned(),
        "vector" => data.result.get(0).and_then(|s| s.get("value")).and_then(|v| v.get(1)).cloned(),
        other => return Err(format!("the query gives a {other}, not one number")),
    };
    let value = value.ok_or("no data: the query matched no series in that time")?;
    let number: f64 = value.as_str().and_then(|v| v.parse().ok()).ok_or("Prometheus's value is not a number")?;
    if number.is_finite() { Ok(number) } else { Err(format!("the value is {number}, not a measurement")) }
}
