//! Tests of the `lade` binary through the front door: a temp store, real files, real peers.

// Test code may use std::fs directly: a failing test shows the path anyway.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::unwrap_used,
    clippy::print_stderr
)]

mod fault_proxy;
mod registry_support;
mod support;

mod archive;
mod check;
mod concurrency;
mod crash;
mod df;
mod docker;
mod faults;
mod format;
mod history;
mod images;
mod import;
mod manifest;
mod mount;
mod peers;
mod prune;
mod pull;
mod push;
mod references;
mod registries_conf;
mod registry;
mod rmi;
mod search;
mod secrets;
mod tag;
mod tls;
mod token;
