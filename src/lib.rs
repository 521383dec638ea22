//! Beacon: uptime monitor, public status page and support-SLA clock.
//!
//! # Layout
//! Read in this order; dependencies only point up this list.
//! - [`domain`]: plain types (channels, probes, observations, states, times). Pure.
//! - [`sla`]: the one state machine and timelines. Pure: no I/O, `now` is a parameter.
//! - [`config`]: loads and validates `probes.toml` with file:line:col errors.
//! - [`store`]: SQLite schema, migrations, the single batched writer, read queries.
//! - [`probe`]: the checks (HTTP first) and the scheduler; live state through [`sla`].
//! - [`web`]: the axum router: status page, JSON API, health.
//! - [`cli`]: the clap commands; [`app`] wires the running service together.

pub mod config;
pub mod domain;
pub mod sla;
