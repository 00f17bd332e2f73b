//! Moderation rules (RULES.md § Moderation, seed 003 §7.2-7.6, seed 004 §6.9): the penalty
//! ladder a user climbs with each offence, report categories and their review priority, the
//! modes and mutes of a live room, and who may moderate whom, block whom and message whom.
//!
//! Like the rest of `domain`, nothing here stores, sends or reads a clock: the services load a
//! user's penalties, a room's modes or a pair's blocks, pass them in with `now_ms`, and act on
//! the answer (and write the audit log, which is theirs, not a rule).

pub mod access;
pub mod ladder;
pub mod modes;
pub mod reports;
