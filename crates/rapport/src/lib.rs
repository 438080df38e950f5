//! The Rapport binary's parts: configuration, commands, and the server's life cycle.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
pub mod config;
pub mod serve;
pub mod telemetry;
