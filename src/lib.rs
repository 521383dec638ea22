//! Beacon: uptime monitor, public status page and support-SLA clock.
//!
//! # Layout
//! Read in this order; dependencies only point up this list.
//! - [`domain`]: plain types (channels, probes, observations, states, times). Pure.
//! - [`sla`]: the one state machine and timelines. Pure: no I/O, `now` is a parameter.
//! - [`condition`]: the Gatus-style condition language (parse once, evaluate per check). Pure.
//! - [`config`]: loads and validates `probes.toml` with file:line:col errors.
//! - [`store`]: SQLite schema, migrations, the single batched writer, read queries.
//! - [`account`]: password hashing (argon2id), session secrets, the login throttle.
//! - [`incident`]: incident lifecycle that runs by itself (maintenance start and end).
//! - [`probe`]: the checks (HTTP first), the scheduler and the recorder; live state via [`sla`].
//! - [`ticket`]: ticket clocks and the Critical waiver evaluated with `sla`, the queue, CSV import.
//! - [`report`]: the monthly uptime report model and its HTML, CSV and JSON renderings.
//! - [`notify`]: webhooks and chat messages from a durable outbox, with retries and signatures.
//! - [`web`]: the axum router: status page, JSON API, health.
//! - [`app`]: wires prober, web and store together; [`run`] is the entry point.
//! - [`cli`]: the clap commands; `main.rs` only calls [`cli::main`].

pub mod account;
pub mod app;
pub mod cli;
pub mod condition;
pub mod config;
pub mod domain;
pub mod incident;
pub mod notify;
pub mod probe;
pub mod report;
pub mod sla;
pub mod store;
pub mod ticket;
pub mod web;

pub use app::{run, run_as, Roles};
