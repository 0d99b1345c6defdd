//! The service catalog: who owns what, what depends on what, how sensitive
//! it is. Loaded from a TOML file (`mandate serve --catalog`) or replaced over
//! the API by an admin; the blast radius and routing read it.

mod ownership;
mod service;

pub use ownership::{OwnershipFlag, notify_targets, ownership_flags};
pub use service::{
    Catalog, CatalogDocument, CatalogError, ExternalOwner, OwnerStatus, Sensitivity, Service, ServiceKind,
};
