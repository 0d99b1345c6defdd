use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What a token may do. See `server::auth::Permission` for the grants.
    pub enum Role {
        /// Reads incidents, runs, activity and audit; changes nothing.
        Viewer = "viewer",
        /// A viewer who may also intervene.
        Responder = "responder",
        /// Everything, including the service catalog.
        Admin = "admin",
        /// An agent or its SDK: creates and completes runs, posts events.
        Agent = "agent",
        /// A monitor (Prometheus, Alertmanager, any alert source): posts
        /// alerts and scrapes `/metrics`; reads nothing else.
        Monitor = "monitor",
    }
}

/// `GET /api/v1/whoami`: the principal behind the caller's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub name: String,
    pub role: Role,
}
