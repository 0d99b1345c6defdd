use crate::attribution::AttributionError;
use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// The family an error belongs to; `code` says exactly what went wrong.
    pub enum ErrorType {
        /// A run's or event's attribution broke the contract (seed codes `ATTR_*`).
        AttributionValidation = "attribution_validation",
        /// A non-attribution field is missing, of the wrong type or out of range.
        SchemaValidation = "schema_validation",
        /// The request itself is unusable: malformed JSON, wrong content type,
        /// oversized body, unknown query parameter.
        InvalidRequest = "invalid_request",
        /// No valid bearer token (401).
        Authentication = "authentication",
        /// The token's role may not do this (403).
        Authorization = "authorization",
        NotFound = "not_found",
        /// The resource is not in a state that allows this (409).
        Conflict = "conflict",
        /// The store cannot be reached right now (503): retry.
        Unavailable = "unavailable",
        Internal = "internal",
    }
}

/// One violation inside an error response's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub error_type: ErrorType,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Every error the API returns. The top-level fields describe the first
/// violation (what a hard rejection reports); `errors` lists all of them when
/// there was more than one thing to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error_type: ErrorType,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
}

impl ErrorBody {
    pub fn new(error_type: ErrorType, code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody { error_type, code: code.into(), message: message.into(), field: None, errors: Vec::new() }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The contract's rejection: the first violation on top, all of them listed.
    pub fn attribution(errors: &[AttributionError]) -> Self {
        let details: Vec<ErrorDetail> = errors.iter().map(ErrorDetail::from).collect();
        let first = details.first().cloned().expect("an attribution rejection has at least one violation");
        ErrorBody {
            error_type: first.error_type,
            code: first.code,
            message: first.message,
            field: first.field,
            errors: details,
        }
    }
}

impl From<&AttributionError> for ErrorDetail {
    fn from(e: &AttributionError) -> Self {
        ErrorDetail {
            error_type: ErrorType::AttributionValidation,
            code: e.code.as_str().to_owned(),
            message: e.message.clone(),
            field: Some(e.field.to_owned()),
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.error_type, self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}
