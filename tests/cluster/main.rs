//! Cluster mode: several real node processes joined by Redis, PostgreSQL as the store.

mod helpers;

mod chat;
mod failures;
mod guilds;
mod moderation;
mod presence;
mod streams;
mod wars;
