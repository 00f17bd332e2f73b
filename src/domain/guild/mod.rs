//! Guild rules (guilds, KROG clubs, DATAVISM squads): who may do what, how a guild levels up and
//! what each level unlocks, the vault's limits, the time-based rules (probation, auto-kick,
//! leadership transfer) and what a guild's name, tag and texts may hold.
//!
//! Every number and name comes from a [`preset::Preset`], so one server runs all three games
//! (RULES.md). Like the rest of `domain/`, nothing here does I/O or reads a clock: the services
//! pass the time in (`now_ms`) along with the state, and these functions decide.

pub mod levels;
pub mod preset;
pub mod probation;
pub mod profile;
pub mod roles;
pub mod vault;
