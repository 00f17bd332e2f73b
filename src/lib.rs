//! Guildhall: a real-time social server for games.
//!
//! Layout, one concern per module:
//! - [`app`] wires a node together and drains it; [`config`] layers file, env and flags.
//! - [`http`] serves `/ws`, `/healthz`, `/readyz`, `/metrics`.
//! - [`session`] runs one connection: hello, read loop, limits, dispatch, the coalescing writer.
//! - [`hub`] holds this node's rooms and fans events out, encoded once per codec.
//! - [`broker`] orders each room's log (epoch + offset) and keeps its tail for recovery: in
//!   process, or through Redis for a cluster.
//! - [`store`] persists (SQLite embedded, or PostgreSQL), with group commit for writes clients
//!   wait on.
//! - [`domain`] holds the pure rules; [`chat`], [`guild`], [`moderation`], [`war`] and
//!   [`stream`] join them to the store and the hub.
//!
//! The wire protocol is the `guildhall-protocol` crate; its README is the spec.

pub mod app;
pub mod auth;
pub mod broker;
pub mod chat;
pub mod clock;
pub mod config;
pub mod domain;
pub mod guild;
pub mod http;
pub mod hub;
pub mod idem;
pub mod metrics;
pub mod moderation;
pub mod services;
pub mod session;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod war;

pub use app::Server;
pub use config::Config;
