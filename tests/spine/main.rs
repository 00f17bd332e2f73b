//! Integration tests of one node on embedded defaults: real sockets, real SQLite.

mod guild_helpers;
mod helpers;

mod auth;
mod chat;
mod chat_rules;
mod drain;

mod foreign_client;
mod frames;
mod guild_economy;
mod guild_progress;
mod guilds;
mod idempotency;
mod moderation;
mod moderation_ladder;
mod ops_endpoints;
mod persistence;
mod presence;
mod recovery;
mod safety;
mod slow_consumer;
mod streams;
mod wars;
