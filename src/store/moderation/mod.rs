//! Moderation's tables: mutes, bans and room modes (the live rules), penalties, reports, the
//! audit log, and users' blocks, personal mutes and settings. Same SQL on both backends, on
//! the `Any` pool of [`super::guild::GuildDb`].

pub mod audit;
pub mod penalties;
pub mod reports;
pub mod restrictions;
pub mod safety;

/// The scope of a platform-wide mute or ban.
pub const PLATFORM: &str = "*";
