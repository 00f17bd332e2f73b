//! Guildhall's load generator: scenarios that drive a server (Guildhall, or the Socket.IO
//! peer for comparison) over real sockets on loopback and report what the server delivered,
//! at what latency, for how much of its core and memory.
//!
//! - [`scenarios`]: fanout (with a sweep for the knee), rooms, idle, connect, cluster, raid,
//!   spectate.
//! - [`target`]: starting a server pinned to a core, or attaching to a running one.
//! - [`cpu`]: what a core and a process spent, from `/proc`.
//! - [`gh`] and [`socketio`]: the two wire protocols, written here from their specs; [`http1`]:
//!   a keep-alive HTTP/1.1 client for the server-to-server API.
//! - [`stats`], [`report`], [`plot`]: HdrHistogram summaries, the table and JSON, an SVG.

pub mod cli;
pub mod cpu;
pub mod gh;
pub mod http1;
pub mod plot;
pub mod report;
pub mod scenarios;
pub mod socketio;
pub mod stats;
pub mod target;
pub mod text;
