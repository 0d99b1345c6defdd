//! Recurring incidents (seed 10.1–10.4) and the rules learned from them
//! (10.5, 10.6), with the friction they cause.

use super::Scroll;
use crate::api::{PatternList, RuleList};

#[derive(Debug, Clone, Default)]
pub struct PatternsView {
    pub patterns: Option<PatternList>,
    pub rules: Option<RuleList>,
    pub scroll: Scroll,
}
