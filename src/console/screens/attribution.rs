//! The attribution figures of the last seven days.

use super::Scroll;
use crate::api::AttributionStats;

#[derive(Debug, Clone, Default)]
pub struct AttributionView {
    pub stats: Option<AttributionStats>,
    pub scroll: Scroll,
}
