//! `mandate` (or `mandate console`): the terminal incident console.

pub mod sanitize;
pub mod theme;
