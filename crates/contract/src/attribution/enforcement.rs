use super::{AttributionContext, AttributionError, validate};
use std::fmt;

/// Selects the enforcement mode: `shadow`, `soft` or `hard` (the default).
pub const ENFORCEMENT_ENV: &str = "AOS_ATTRIBUTION_ENFORCEMENT";
/// `true` lets soft mode accept violations (logged); ignored in other modes.
pub const ALLOW_LEGACY_ENV: &str = "AOS_ALLOW_ATTRIBUTION_LEGACY";

/// How violations are treated. The API server is always [`EnforcementMode::Hard`];
/// SDK callers may run shadow or soft during a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnforcementMode {
    /// Log violations, never reject.
    Shadow,
    /// Reject, unless the legacy override is set.
    Soft,
    /// Always reject.
    #[default]
    Hard,
}

impl EnforcementMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementMode::Shadow => "shadow",
            EnforcementMode::Soft => "soft",
            EnforcementMode::Hard => "hard",
        }
    }

    pub fn parse(raw: &str) -> Option<EnforcementMode> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "shadow" => Some(EnforcementMode::Shadow),
            "soft" => Some(EnforcementMode::Soft),
            "hard" => Some(EnforcementMode::Hard),
            _ => None,
        }
    }
}

impl fmt::Display for EnforcementMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies the enforcement decision to a validation result and logs what the
/// contract asks to be logged (`attribution_validation_failed`,
/// `attribution_override_used`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enforcer {
    pub mode: EnforcementMode,
    /// Only honoured in soft mode.
    pub allow_legacy_override: bool,
}

impl Enforcer {
    pub const HARD: Enforcer = Enforcer { mode: EnforcementMode::Hard, allow_legacy_override: false };

    /// Reads [`ENFORCEMENT_ENV`] and [`ALLOW_LEGACY_ENV`].
    pub fn from_env() -> Enforcer {
        Enforcer::from_vars(
            std::env::var(ENFORCEMENT_ENV).ok().as_deref(),
            std::env::var(ALLOW_LEGACY_ENV).ok().as_deref(),
        )
    }

    /// An unknown mode enforces hard: a typo must never loosen enforcement.
    pub fn from_vars(mode: Option<&str>, allow_legacy: Option<&str>) -> Enforcer {
        let parsed = match mode {
            None => EnforcementMode::Hard,
            Some(raw) => EnforcementMode::parse(raw).unwrap_or_else(|| {
                tracing::warn!(value = raw, variable = ENFORCEMENT_ENV, "unknown enforcement mode; enforcing hard");
                EnforcementMode::Hard
            }),
        };
        let allow = allow_legacy.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Enforcer { mode: parsed, allow_legacy_override: allow }
    }

    /// Validates `ctx`. `Ok` carries the violations that were tolerated (shadow
    /// mode, or soft mode with the override); `Err` is the first violation,
    /// which is what a rejection reports.
    pub fn enforce(&self, ctx: &AttributionContext) -> Result<Vec<AttributionError>, AttributionError> {
        let errors = validate(ctx);
        if errors.is_empty() {
            return Ok(errors);
        }
        log_violations(ctx, &errors, self.mode);
        match self.mode {
            EnforcementMode::Shadow => Ok(errors),
            EnforcementMode::Soft if self.allow_legacy_override => {
                tracing::warn!(
                    target: "mandate::attribution",
                    agent_id = ctx.agent_id.as_deref(),
                    origin_system_id = ctx.origin_system_id.as_deref(),
                    errors = %join_codes(&errors),
                    "attribution_override_used"
                );
                Ok(errors)
            }
            EnforcementMode::Soft | EnforcementMode::Hard => Err(errors.into_iter().next().expect("non-empty")),
        }
    }
}

fn join_codes(errors: &[AttributionError]) -> String {
    errors.iter().map(|e| e.code.as_str()).collect::<Vec<_>>().join(",")
}

/// Logs a violation with the fields the contract names.
pub fn log_violations(ctx: &AttributionContext, errors: &[AttributionError], mode: EnforcementMode) {
    tracing::warn!(
        target: "mandate::attribution",
        enforcement_mode = mode.as_str(),
        agent_id = ctx.agent_id.as_deref(),
        actor_type = ctx.actor_type.as_deref(),
        origin_system_id = ctx.origin_system_id.as_deref(),
        has_actor_id = ctx.actor_id.is_some(),
        error_codes = %join_codes(errors),
        error_count = errors.len(),
        "attribution_validation_failed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::AttributionErrorCode;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Captures JSON log lines so tests can check the structured events.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn with_logs<T>(f: impl FnOnce() -> T) -> (T, Vec<serde_json::Value>) {
        let sink = Captured::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (out, lines)
    }

    fn bad() -> AttributionContext {
        AttributionContext::new("legacy-unknown", "HUMAN", "payments", None)
    }

    #[test]
    fn hard_rejects_with_the_first_violation_and_logs_them_all() {
        let (result, logs) = with_logs(|| Enforcer::HARD.enforce(&bad()));
        let err = result.unwrap_err();
        assert_eq!(err.code, AttributionErrorCode::AgentMissing);
        assert_eq!(logs.len(), 1);
        let fields = &logs[0]["fields"];
        assert_eq!(fields["message"], "attribution_validation_failed");
        assert_eq!(fields["enforcement_mode"], "hard");
        assert_eq!(fields["agent_id"], "legacy-unknown");
        assert_eq!(fields["actor_type"], "HUMAN");
        assert_eq!(fields["origin_system_id"], "payments");
        assert_eq!(fields["has_actor_id"], false);
        assert_eq!(fields["error_codes"], "ATTR_AGENT_MISSING,ATTR_ACTOR_ID_REQUIRED");
        assert_eq!(fields["error_count"], 2);
    }

    #[test]
    fn shadow_logs_but_does_not_reject() {
        let enforcer = Enforcer::from_vars(Some("shadow"), Some("true"));
        let (result, logs) = with_logs(|| enforcer.enforce(&bad()));
        assert_eq!(result.unwrap().len(), 2);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["fields"]["enforcement_mode"], "shadow");
    }

    #[test]
    fn soft_rejects_without_the_override_and_accepts_with_it() {
        let strict = Enforcer::from_vars(Some("soft"), None);
        assert!(with_logs(|| strict.enforce(&bad())).0.is_err());
        let lenient = Enforcer::from_vars(Some("SOFT"), Some("TRUE"));
        let (result, logs) = with_logs(|| lenient.enforce(&bad()));
        assert_eq!(result.unwrap().len(), 2);
        let events: Vec<_> = logs.iter().map(|l| l["fields"]["message"].as_str().unwrap().to_owned()).collect();
        assert_eq!(events, ["attribution_validation_failed", "attribution_override_used"]);
        assert_eq!(logs[1]["fields"]["errors"], "ATTR_AGENT_MISSING,ATTR_ACTOR_ID_REQUIRED");
    }

    #[test]
    fn the_override_is_ignored_in_hard_mode() {
        let enforcer = Enforcer::from_vars(Some("hard"), Some("true"));
        assert!(with_logs(|| enforcer.enforce(&bad())).0.is_err());
    }

    #[test]
    fn default_and_unknown_modes_are_hard() {
        assert_eq!(Enforcer::from_vars(None, None), Enforcer::HARD);
        assert_eq!(Enforcer::from_vars(Some("sofft"), Some("true")).mode, EnforcementMode::Hard);
        assert!(!Enforcer::from_vars(Some("soft"), Some("yes")).allow_legacy_override);
    }

    #[test]
    fn valid_attribution_logs_nothing() {
        let (result, logs) = with_logs(|| Enforcer::HARD.enforce(&AttributionContext::system("a", "o")));
        assert!(result.unwrap().is_empty());
        assert!(logs.is_empty());
    }
}
