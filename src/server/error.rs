use crate::api::{ErrorBody, ErrorDetail, ErrorType};
use crate::store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error response: a status and the JSON body every client can parse.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds for `Retry-After`, when the answer is "not now".
    pub retry_after: Option<u16>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_type: ErrorType, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: ErrorBody::new(error_type, code, message), retry_after: None }
    }

    pub fn with_retry_after(mut self, seconds: u16) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body = self.body.with_field(field);
        self
    }

    /// 400 for a request that cannot be used as sent.
    pub fn invalid_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, code, message)
    }

    /// 400 listing every violation; the first one is on top.
    pub fn violations(details: Vec<ErrorDetail>) -> Self {
        let first = details.first().cloned().expect("at least one violation");
        let body = ErrorBody {
            error_type: first.error_type,
            code: first.code,
            message: first.message,
            field: first.field,
            errors: details,
        };
        ApiError { status: StatusCode::BAD_REQUEST, body, retry_after: None }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::Authentication, "UNAUTHENTICATED", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorType::Authorization, "FORBIDDEN", message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorType::NotFound, code, message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorType::Conflict, code, message)
    }

    /// `503 DATABASE_UNAVAILABLE` with `Retry-After: 1`, saying `message`.
    pub fn database_unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorType::Unavailable, "DATABASE_UNAVAILABLE", message)
            .with_retry_after(1)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::Internal,
            "INTERNAL",
            "internal error; the server log has the details",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::database_unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Refused(message) => ApiError::invalid_request("REFUSED_BY_DATABASE", message),
            // The database's own text (values, table layout) stays in the log.
            StoreError::Constraint { ref constraint, .. } => {
                tracing::warn!(error = %e, "the database refused a write");
                let named = constraint.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                ApiError::invalid_request(
                    "REFUSED_BY_DATABASE",
                    format!("the database refused the write{named}; nothing was stored"),
                )
            }
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::metrics::refused(&self.body.code);
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
        match self.status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // Failed authentication throttled: at most one window.
            StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_databases_own_words_never_reach_a_client() {
        let refused = StoreError::Constraint {
            constraint: Some("events_pkey".into()),
            message:
                "duplicate key value violates unique constraint \"events_pkey\" DETAIL: Key (event_id)=(secret-42)"
                    .into(),
        };
        let response = ApiError::from(refused);
        let body = response.body.to_string();
        assert!(body.contains("REFUSED_BY_DATABASE") && body.contains("(events_pkey)"), "{body}");
        assert!(!body.contains("duplicate key") && !body.contains("secret-42"), "{body}");
    }
}
