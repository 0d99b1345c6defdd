//! The routing in force and how often each rule matched (`:routing`).

use super::Scroll;
use crate::api::RoutingUsage;
use crate::routing::RoutingDocument;

#[derive(Debug, Clone, Default)]
pub struct RoutingView {
    pub document: Option<Box<RoutingDocument>>,
    pub usage: Option<RoutingUsage>,
    pub scroll: Scroll,
}
