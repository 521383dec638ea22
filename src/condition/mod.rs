//! The condition language (Gatus syntax): parsed once at config load, evaluated per check.
//!
//! Owns: the grammar, the AST, evaluation against what a check saw. Pure: no I/O, no clock.
//! May use: std, serde_json.
