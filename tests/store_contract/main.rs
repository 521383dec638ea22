//! The store's contract: one suite, run on every engine (see `engines.rs`). Each module holds
//! one area's behaviour as the rest of Beacon relies on it.

#[path = "../common/postgres.rs"]
mod postgres;

mod engines;

mod copy;
mod observations;

mod accounts;
mod batches;
mod import;
mod incidents;
mod jobs;
mod locations;
mod outbox;
mod recurring;
mod tickets;
