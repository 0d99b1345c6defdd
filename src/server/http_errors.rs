//! Every error answer is JSON, those of the HTTP layer included:
//!
//! - [`json_bodies`], a middleware, gives a JSON body to any error answer
//!   the router's extractors made in plain text (a path segment that is not
//!   valid percent-encoded UTF-8, for one);
//! - [`JsonErrors`] wraps a connection and replaces the empty answers the
//!   HTTP parser writes itself (400 for an unparseable request, 414 for a
//!   URI over 64 KiB, 431 for a head over its buffer or too many headers)
//!   with the same answer carrying a JSON body. No handler answers 400, 414
//!   or 431 with an empty body, so such an answer is always the parser's.

use crate::api::{ErrorBody, ErrorType};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The error body for an answer the handlers did not make.
pub fn body_for(status: StatusCode, message: &str) -> ErrorBody {
    let (error_type, code) = match status.as_u16() {
        400 => (ErrorType::InvalidRequest, "INVALID_REQUEST"),
        404 => (ErrorType::NotFound, "ROUTE_NOT_FOUND"),
        405 => (ErrorType::InvalidRequest, "METHOD_NOT_ALLOWED"),
        408 => (ErrorType::InvalidRequest, "REQUEST_TIMEOUT"),
        413 => (ErrorType::InvalidRequest, "BODY_TOO_LARGE"),
        414 => (ErrorType::InvalidRequest, "URI_TOO_LONG"),
        415 => (ErrorType::InvalidRequest, "UNSUPPORTED_MEDIA_TYPE"),
        431 => (ErrorType::InvalidRequest, "HEADERS_TOO_LARGE"),
        s if s >= 500 => (ErrorType::Internal, "INTERNAL"),
        _ => (ErrorType::InvalidRequest, "INVALID_REQUEST"),
    };
    ErrorBody::new(error_type, code, message)
}

/// Error answers in plain text (or with no type) get a JSON body saying
/// the same.
pub async fn json_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() < 400 || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = plain_message(parts.status, &text);
    let json = serde_json::to_vec(&body_for(parts.status, &message)).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// Request headers over this many bytes in all (names and values) are
/// refused with 431. The parser's own limit is its read buffer's, which one
/// large read can carry past (seen under load: a 500 KB header answered 200).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The 431 for a request whose headers are over [`MAX_HEADER_BYTES`].
pub fn headers_too_large(headers: &axum::http::HeaderMap) -> Option<Response> {
    let size: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    (size > MAX_HEADER_BYTES).then(|| {
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        let body = body_for(status, "the request's headers are over 64 KiB in all");
        let mut response = Response::new(Body::from(serde_json::to_vec(&body).unwrap_or_default()));
        *response.status_mut() = status;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    })
}

/// What a plain-text error answer says, cleaned for a client's log: its
/// text without control characters (500 at most), or the status's reason.
pub(crate) fn plain_message(status: StatusCode, text: &[u8]) -> String {
    match String::from_utf8_lossy(text).trim() {
        "" => status.canonical_reason().unwrap_or("refused").to_owned(),
        t => t.chars().filter(|c| !c.is_control()).take(500).collect(),
    }
}

/// The JSON answer that replaces the parser's empty one for `status`.
fn parser_answer(status: u16) -> Option<Vec<u8>> {
    let (reason, message) = match status {
        400 => ("Bad Request", "the request could not be read as HTTP/1.1"),
        414 => ("URI Too Long", "the request's URI is over 64 KiB"),
        431 => ("Request Header Fields Too Large", "the request's headers are too large or too many"),
        _ => return None,
    };
    let body = serde_json::to_vec(&body_for(StatusCode::from_u16(status).ok()?, message)).ok()?;
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend(body);
    Some(answer)
}

/// The status of `head` if it is one of the parser's own empty answers.
fn parser_status(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let status: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let empty = text.to_ascii_lowercase().contains("\r\ncontent-length: 0\r\n");
    (matches!(status, 400 | 414 | 431) && empty && text.ends_with("\r\n\r\n")).then_some(status)
}

/// A connection whose parser-made error answers are given a JSON body.
pub struct JsonErrors<S> {
    inner: S,
    /// A replacement answer still to be written.
    pending: Vec<u8>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S) -> Self {
        JsonErrors { inner, pending: Vec::new() }
    }
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(answer) = parser_status(buf).and_then(parser_answer) {
            self.pending = answer;
            // Written as far as the caller knows; the rest goes on flush.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parsers_empty_answers_are_replaced() {
        let parser = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 16:34:40 GMT\r\n\r\n";
        assert_eq!(parser_status(parser), Some(431));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 57\r\n\r\n";
        assert_eq!(parser_status(ours), None, "a handler's JSON answer is left alone");
        let not_modified = b"HTTP/1.1 304 Not Modified\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parser_status(not_modified), None);
        let answer = String::from_utf8(parser_answer(414).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n") && head.contains("application/json"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "URI_TOO_LONG");
        assert!(head.contains(&format!("content-length: {}", body.to_string().len())));
    }
}
