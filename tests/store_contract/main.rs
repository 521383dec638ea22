//! The store's contract: one suite, run on every engine (see `engines.rs`). Each module holds
//! one area's behaviour as the rest of Beacon relies on it.

mod engines;

mod observations;

mod accounts;
mod incidents;
mod recurring;
mod tickets;
