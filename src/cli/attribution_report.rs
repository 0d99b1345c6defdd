//! `mandate attribution report`: the weekly status (seed 000 §6) from a
//! server's live figures, Markdown on stdout, connected as the console is.

use crate::console::config::{ConsoleArgs, ConsoleConfig};
use std::time::Duration;

/// Prints the report; an error names the server and what it said.
pub fn report(args: ConsoleArgs) -> Result<(), String> {
    let config = ConsoleConfig::resolve(&args, &|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let (Some(api_url), Some(token)) = (config.api_url.clone(), config.token.clone()) else {
        return Err("no API configured: give --api-url and --token-file (or MANDATE_API_URL and MANDATE_TOKEN)".into());
    };
    let http = crate::sdk::http_client_trusting(config.ca_file.as_deref())
        .map_err(|e| e.to_string())?
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let mut failures = Vec::new();
    // Several servers, comma-separated: the first that answers.
    for base in api_url.split(',').map(|u| u.trim().trim_end_matches('/')).filter(|u| !u.is_empty()) {
        let url = format!("{base}/api/v1/attribution/report");
        let answer = runtime.block_on(async {
            let response = http.get(&url).bearer_auth(token.expose()).send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        });
        match answer {
            Ok((status, text)) if status.is_success() => {
                print!("{text}");
                return Ok(());
            }
            Ok((status, text)) => {
                let said = serde_json::from_str::<crate::api::ErrorBody>(&text)
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .unwrap_or_else(|_| text.chars().take(200).collect());
                // A refusal is the answer: another server would say the same.
                return Err(format!("{base} answered {status}: {said}"));
            }
            Err(e) => failures.push(format!("{base}: {e}")),
        }
    }
    Err(format!("cannot reach the API: {}", failures.join("; ")))
}
