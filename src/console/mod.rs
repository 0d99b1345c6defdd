//! `mandate` (or `mandate console`): the terminal incident console.

pub mod app;
pub mod config;
pub mod keymap;
pub mod sanitize;
pub mod theme;
pub mod view;
