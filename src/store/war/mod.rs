//! The war and raid store: accepted runs (idempotent by run id), wars and the guilds
//! registered for them, war standings (Elo, streaks), raids, and the live scoreboards'
//! snapshots. Same SQL for SQLite and PostgreSQL, on the guild store's pool.

pub mod raids;
pub mod runs;
pub mod snapshots;
pub mod wars;
