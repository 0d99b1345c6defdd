//! Mandate's wire contract, shared by the server, the console and every SDK:
//!
//! - [`attribution`]: the run-attribution contract (error codes, rule order,
//!   enforcement modes), identical in every language;
//! - [`api`]: the types of the HTTP API, as they travel.
//!
//! It depends on no network, database or terminal crate, so an agent that
//! links the SDK links only this besides its HTTP client.

pub mod api;
pub mod attribution;
mod wire_enum;
