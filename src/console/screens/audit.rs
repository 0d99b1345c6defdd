//! The audit log, newest first.

use super::Scroll;
use crate::api::AuditPage;

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub page: Option<AuditPage>,
    pub scroll: Scroll,
}
