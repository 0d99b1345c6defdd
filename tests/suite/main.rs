//! The test suite, as one binary: each module is the specification of one
//! capability, run against the real thing (a server on loopback, a SQLite
//! file, a throwaway PostgreSQL that `tests/run` starts, the real binary in
//! tmux). One binary links the crate once, not once per file.

#[macro_use]
mod common;

mod agent_tokens;
mod alerts;
mod api_activity;
mod api_auth;
mod api_runs;
mod approvals;
mod audit_chain;
mod chaos;
mod cli_serve;
mod console_interventions;
mod console_poller;
mod console_screens;
mod constraint_matrix;
mod decisions;
mod degradations;
mod disputes;
mod export_bombs;
mod faults;
mod flash;
mod fuzz;
mod hostile_clients;
mod identity;
mod incident_life;
mod incidents_http;
mod input_bounds;
mod layers;
mod learning;
mod manual;
mod merges;
mod metrics;
mod migrations;
mod openapi;
mod otlp;
mod paging;
mod prerequisites;
mod records;
mod release;
mod replicas;
mod rolling_upgrade;
mod rollout;
mod routing;
mod routing_http;
mod sdk;
mod sdk_conformance;
mod sdk_versions;
mod silences;
mod sim_scenarios;
mod slack;
mod sole_server;
mod stops;
mod store_group_commit;
mod terminal;
mod tls;
mod war_room;
