//! How well the scores matched the verdicts (seed 11.2), and what became
//! of suggestions (2.2, 9.4), over the last 30 days.

use super::Scroll;
use crate::api::{Calibration, SuggestionStats};

#[derive(Debug, Clone, Default)]
pub struct CalibrationView {
    pub calibration: Option<Calibration>,
    pub suggestions: Option<SuggestionStats>,
    pub scroll: Scroll,
}
