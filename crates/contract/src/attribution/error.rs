use crate::wire_enum;

wire_enum! {
    /// The six canonical codes. Contractual: never renamed.
    pub enum AttributionErrorCode {
        AgentMissing = "ATTR_AGENT_MISSING",
        ActorTypeMissing = "ATTR_ACTOR_TYPE_MISSING",
        ActorTypeInvalid = "ATTR_ACTOR_TYPE_INVALID",
        ActorIdRequired = "ATTR_ACTOR_ID_REQUIRED",
        ActorIdForbidden = "ATTR_ACTOR_ID_FORBIDDEN",
        OriginSystemMissing = "ATTR_ORIGIN_SYSTEM_MISSING",
    }
}

/// One attribution violation. Blocking: the run is not created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{code}] {message}")]
pub struct AttributionError {
    pub code: AttributionErrorCode,
    pub message: String,
    pub field: &'static str,
}

impl AttributionError {
    pub const ERROR_TYPE: &'static str = "attribution_validation";

    pub fn new(code: AttributionErrorCode, message: impl Into<String>, field: &'static str) -> Self {
        AttributionError { code, message: message.into(), field }
    }

    /// The contract's wire shape: `{error_type, code, message, field}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error_type": Self::ERROR_TYPE,
            "code": self.code.as_str(),
            "message": self.message,
            "field": self.field,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_the_contracts() {
        let e = AttributionError::new(
            AttributionErrorCode::ActorIdRequired,
            "actor_id is required when actor_type is HUMAN",
            "actor_id",
        );
        assert_eq!(
            e.to_json(),
            serde_json::json!({
                "error_type": "attribution_validation",
                "code": "ATTR_ACTOR_ID_REQUIRED",
                "message": "actor_id is required when actor_type is HUMAN",
                "field": "actor_id",
            })
        );
        assert_eq!(e.to_string(), "[ATTR_ACTOR_ID_REQUIRED] actor_id is required when actor_type is HUMAN");
    }

    #[test]
    fn codes_round_trip_through_their_canonical_names() {
        for &code in AttributionErrorCode::ALL {
            assert_eq!(AttributionErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
        }
    }
}
