//! Paging: routing decisions turned into messages that reach people. The
//! outbox rows are written with the incident change (see `store::pages`);
//! the worker here delivers the due ones on their channels, groups what goes
//! to one person (storm control), retries with backoff, gives up into a
//! dead state a responder can retry, and moves the incident's escalation
//! level when a later level is paged.

mod channels;
mod clock;
mod config;
mod escalation;
pub mod inbox;
pub mod message;
mod outbox;
mod plan;
mod worker;

pub use channels::{Refusal, no_receiver, sign as sign_webhook, verify as verify_webhook};
pub use clock::Clock;
pub use config::{
    CHANNELS, COORDINATION, Delivery, EmailReceiver, Limits, PAGERDUTY_EVENTS_URL, PagerDutyReceiver, Receivers,
    SLACK_API_URL, Secret, SecretRef, SlackReceiver, Storm, WebhookReceiver, check as check_receivers,
};
pub use escalation::{NextLevel, next_level};
pub use message::{Context, Item, Outgoing};
pub use outbox::{Attempt, LastSent, Outbox, PageRow};
pub use plan::{BLAST_RADIUS, NO_LONGER_ASKED, NewPage, OutboxPlan, plan};
pub use worker::{TickReport, Worker, backoff};
