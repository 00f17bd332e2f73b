//! Stored rows as the protocol shows them.

use guildhall_protocol::{GuildMember, GuildProfile, LedgerEntry, UserRef};

use super::{to_u32, to_u64};
use crate::domain::guild::levels::{capacity, perks_unlocked, xp_to_reach};
use crate::domain::guild::preset::Preset;
use crate::domain::guild::profile::win_rate;
use crate::store::guild::guilds::GuildRow;
use crate::store::guild::ledger::LedgerRow;
use crate::store::guild::members::MemberRow;

pub fn profile(preset: &Preset, g: &GuildRow, vault: i64) -> GuildProfile {
    let level = to_u32(g.level);
    let (wins, losses) = (to_u32(g.wins), to_u32(g.losses));
    GuildProfile {
        id: to_u64(g.id),
        name: g.name.clone(),
        tag: g.tag.clone(),
        description: g.description.clone(),
        message: g.message.clone(),
        language: g.language.clone(),
        region: g.region.clone(),
        activity: g.activity.clone(),
        war_focus: g.war_focus.clone(),
        join_policy: g.join_policy.clone(),
        profanity: g.profanity.clone(),
        auto_kick_days: to_u32(g.auto_kick_days),
        level,
        xp: to_u64(g.xp),
        next_level_xp: (level < preset.max_level()).then(|| xp_to_reach(preset, level + 1)),
        members: to_u32(g.member_count),
        capacity: capacity(preset, level),
        vault: to_u64(vault),
        wins,
        losses,
        win_rate: win_rate(wins, losses),
        leader: UserRef {
            id: g.leader_id.clone(),
            name: g.leader_name.clone(),
        },
        created: to_u64(g.created_ms),
        perks: perks_unlocked(preset, 0, level),
    }
}

pub fn member(preset: &Preset, m: &MemberRow) -> GuildMember {
    GuildMember {
        user: user(&m.user_id, &m.user_name),
        rank: preset.role(&m.role).map_or(u32::MAX, |r| r.rank),
        role: m.role.clone(),
        joined: to_u64(m.joined_ms),
        points: to_u32(m.points),
        presence: m.presence.clone(),
        protected: m.protected != 0,
    }
}

pub fn user(id: &str, name: &str) -> UserRef {
    UserRef {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

pub fn ledger_entry(row: LedgerRow) -> LedgerEntry {
    LedgerEntry {
        id: to_u64(row.id),
        account: row.account,
        currency: row.currency,
        delta: row.delta,
        balance: to_u64(row.balance),
        kind: row.kind,
        reason: row.reason,
        actor: row.actor,
        at: to_u64(row.ts_ms),
    }
}
