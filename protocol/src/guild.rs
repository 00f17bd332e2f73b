//! Guild and wallet ops (client → server), their results, and the guild events pushed in
//! `guild:<id>` rooms.
//!
//! Field names here are the wire names. Optional fields are omitted when absent, in both codecs.
//! Values the spec enumerates (roles, join policies, presence states, ...) travel as strings, so
//! a deployment's preset can name its own roles without a protocol change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ops::{op, typed, OpError, UserRef};

/// A guild or wallet op with its typed payload: one variant per op name.
#[derive(Clone, Debug, PartialEq)]
pub enum GuildOp {
    Create(GuildCreate),
    Get(GuildRef),
    Edit(GuildEdit),
    Search(GuildSearch),
    Join(GuildRef),
    Apply(GuildApply),
    Applications(GuildRef),
    Review(GuildReview),
    Invite(GuildTarget),
    Invites(Empty),
    Accept(GuildRef),
    Decline(GuildRef),
    Leave(GuildRef),
    Kick(GuildTarget),
    Promote(GuildTarget),
    Demote(GuildTarget),
    Transfer(GuildTarget),
    TransferCancel(GuildRef),
    Disband(GuildRef),
    Protect(GuildProtect),
    Donate(GuildDonate),
    Payout(GuildPayout),
    Vault(GuildRef),
    Status(GuildStatus),
    WalletGet(Empty),
}

impl GuildOp {
    /// Picks the payload type by op name; `None` when the name is not a guild or wallet op.
    pub(crate) fn parse(op_name: &str, d: &serde_json::Value) -> Option<Result<Self, OpError>> {
        fn with<T: serde::de::DeserializeOwned>(
            op: &'static str,
            d: &serde_json::Value,
            variant: fn(T) -> GuildOp,
        ) -> Option<Result<GuildOp, OpError>> {
            Some(typed(op, d).map(variant))
        }
        match op_name {
            op::GUILD_CREATE => with(op::GUILD_CREATE, d, Self::Create),
            op::GUILD_GET => with(op::GUILD_GET, d, Self::Get),
            op::GUILD_EDIT => with(op::GUILD_EDIT, d, Self::Edit),
            op::GUILD_SEARCH => with(op::GUILD_SEARCH, d, Self::Search),
            op::GUILD_JOIN => with(op::GUILD_JOIN, d, Self::Join),
            op::GUILD_APPLY => with(op::GUILD_APPLY, d, Self::Apply),
            op::GUILD_APPLICATIONS => with(op::GUILD_APPLICATIONS, d, Self::Applications),
            op::GUILD_REVIEW => with(op::GUILD_REVIEW, d, Self::Review),
            op::GUILD_INVITE => with(op::GUILD_INVITE, d, Self::Invite),
            op::GUILD_INVITES => with(op::GUILD_INVITES, d, Self::Invites),
            op::GUILD_ACCEPT => with(op::GUILD_ACCEPT, d, Self::Accept),
            op::GUILD_DECLINE => with(op::GUILD_DECLINE, d, Self::Decline),
            op::GUILD_LEAVE => with(op::GUILD_LEAVE, d, Self::Leave),
            op::GUILD_KICK => with(op::GUILD_KICK, d, Self::Kick),
            op::GUILD_PROMOTE => with(op::GUILD_PROMOTE, d, Self::Promote),
            op::GUILD_DEMOTE => with(op::GUILD_DEMOTE, d, Self::Demote),
            op::GUILD_TRANSFER => with(op::GUILD_TRANSFER, d, Self::Transfer),
            op::GUILD_TRANSFER_CANCEL => with(op::GUILD_TRANSFER_CANCEL, d, Self::TransferCancel),
            op::GUILD_DISBAND => with(op::GUILD_DISBAND, d, Self::Disband),
            op::GUILD_PROTECT => with(op::GUILD_PROTECT, d, Self::Protect),
            op::GUILD_DONATE => with(op::GUILD_DONATE, d, Self::Donate),
            op::GUILD_PAYOUT => with(op::GUILD_PAYOUT, d, Self::Payout),
            op::GUILD_VAULT => with(op::GUILD_VAULT, d, Self::Vault),
            op::GUILD_STATUS => with(op::GUILD_STATUS, d, Self::Status),
            op::WALLET_GET => with(op::WALLET_GET, d, Self::WalletGet),
            _ => None,
        }
    }

    /// The op name, as it appears in `op`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create(_) => op::GUILD_CREATE,
            Self::Get(_) => op::GUILD_GET,
            Self::Edit(_) => op::GUILD_EDIT,
            Self::Search(_) => op::GUILD_SEARCH,
            Self::Join(_) => op::GUILD_JOIN,
            Self::Apply(_) => op::GUILD_APPLY,
            Self::Applications(_) => op::GUILD_APPLICATIONS,
            Self::Review(_) => op::GUILD_REVIEW,
            Self::Invite(_) => op::GUILD_INVITE,
            Self::Invites(_) => op::GUILD_INVITES,
            Self::Accept(_) => op::GUILD_ACCEPT,
            Self::Decline(_) => op::GUILD_DECLINE,
            Self::Leave(_) => op::GUILD_LEAVE,
            Self::Kick(_) => op::GUILD_KICK,
            Self::Promote(_) => op::GUILD_PROMOTE,
            Self::Demote(_) => op::GUILD_DEMOTE,
            Self::Transfer(_) => op::GUILD_TRANSFER,
            Self::TransferCancel(_) => op::GUILD_TRANSFER_CANCEL,
            Self::Disband(_) => op::GUILD_DISBAND,
            Self::Protect(_) => op::GUILD_PROTECT,
            Self::Donate(_) => op::GUILD_DONATE,
            Self::Payout(_) => op::GUILD_PAYOUT,
            Self::Vault(_) => op::GUILD_VAULT,
            Self::Status(_) => op::GUILD_STATUS,
            Self::WalletGet(_) => op::WALLET_GET,
        }
    }

    /// Whether the op changes state, so that `idem` applies to it.
    pub fn is_mutating(&self) -> bool {
        match self {
            Self::Create(_)
            | Self::Edit(_)
            | Self::Join(_)
            | Self::Apply(_)
            | Self::Review(_)
            | Self::Invite(_)
            | Self::Accept(_)
            | Self::Decline(_)
            | Self::Leave(_)
            | Self::Kick(_)
            | Self::Promote(_)
            | Self::Demote(_)
            | Self::Transfer(_)
            | Self::TransferCancel(_)
            | Self::Disband(_)
            | Self::Protect(_)
            | Self::Donate(_)
            | Self::Payout(_) => true,
            Self::Get(_)
            | Self::Search(_)
            | Self::Applications(_)
            | Self::Invites(_)
            | Self::Vault(_)
            | Self::Status(_)
            | Self::WalletGet(_) => false,
        }
    }
}

// --- requests ------------------------------------------------------------------------------------

/// A payload naming only a guild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildRef {
    pub guild: u64,
}

/// The payload of ops that take none (`d` may be omitted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// A guild and one of its (prospective) members, by user id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildTarget {
    pub guild: u64,
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildCreate {
    pub name: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub war_focus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_policy: Option<String>,
}

/// Changes to a guild's settings: absent fields stay as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildEdit {
    pub guild: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub war_focus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profanity: Option<String>,
    /// Days of inactivity before an automatic kick; `0` turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_kick_days: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSearch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub war_focus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_slots: Option<bool>,
    /// `members`, `level`, `win_rate` or `activity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildApply {
    pub guild: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildReview {
    pub guild: u64,
    pub user: String,
    pub accept: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildProtect {
    pub guild: u64,
    pub user: String,
    pub protected: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildDonate {
    pub guild: u64,
    pub amount: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildPayout {
    pub guild: u64,
    pub user: String,
    pub amount: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildStatus {
    pub guild: u64,
    /// `online`, `in_run` or `idle`.
    pub state: String,
}

// --- results -------------------------------------------------------------------------------------

/// A guild's public profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuildProfile {
    pub id: u64,
    pub name: String,
    pub tag: String,
    pub description: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub activity: String,
    pub war_focus: String,
    pub join_policy: String,
    pub profanity: String,
    /// `0`: automatic kicks are off.
    pub auto_kick_days: u32,
    pub level: u32,
    pub xp: u64,
    /// The cumulative XP at which the next level is reached; absent at the highest level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_level_xp: Option<u64>,
    pub members: u32,
    pub capacity: u32,
    pub vault: u64,
    pub wins: u32,
    pub losses: u32,
    /// `wins / (wins + losses)`, `0.0` before the first war: the protocol's only float.
    pub win_rate: f64,
    pub leader: UserRef,
    /// Creation time, ms since the Unix epoch.
    pub created: u64,
    pub perks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildMember {
    pub user: UserRef,
    pub role: String,
    pub rank: u32,
    pub joined: u64,
    pub points: u32,
    /// `offline`, `online`, `in_run` or `idle`.
    pub presence: String,
    pub protected: bool,
}

/// The result of `guild.create`, `guild.get`, `guild.edit`, `guild.join` and `guild.accept`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuildInfo {
    pub guild: GuildProfile,
    /// The roster: filled by `guild.get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<GuildMember>>,
    /// The caller's role: filled by `guild.create`, `guild.join` and `guild.accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuildList {
    pub guilds: Vec<GuildProfile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub user: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationList {
    pub applications: Vec<Application>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub guild: u64,
    pub name: String,
    pub tag: String,
    pub by: UserRef,
    pub at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteList {
    pub invites: Vec<Invite>,
}

/// The result of `guild.promote` and `guild.demote`: the target's new role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChanged {
    pub user: String,
    pub role: String,
}

/// The result of `guild.transfer`, and the `d` of `guild.transfer_pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferPending {
    pub from: UserRef,
    pub to: UserRef,
    pub effective_at: u64,
}

/// The result of `guild.donate`: the vault's and the donor's new DNA balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Donated {
    pub vault: u64,
    pub balance: u64,
}

/// The result of `guild.payout`: the vault's new balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidOut {
    pub vault: u64,
}

/// One balance change of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: u64,
    /// `user:<id>` or `guild:<id>`.
    pub account: String,
    pub currency: String,
    pub delta: i64,
    /// The account's balance in this currency after the change.
    pub balance: u64,
    /// `credit`, `debit`, `donation`, `payout`, `guild_create` or `run`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The user who caused the change, when a user did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub at: u64,
}

/// The result of `guild.vault`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultView {
    pub vault: u64,
    pub cap: u64,
    pub log: Vec<LedgerEntry>,
}

/// The result of `wallet.get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    pub balances: BTreeMap<String, u64>,
    pub recent: Vec<LedgerEntry>,
}

// --- events --------------------------------------------------------------------------------------

/// `guild.member_joined`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJoined {
    pub user: UserRef,
    pub role: String,
}

/// `guild.member_left`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLeft {
    pub user: UserRef,
}

/// `guild.member_kicked`: by a member (`by`), or automatically for inactivity (`auto`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKicked {
    pub user: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserRef>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
}

/// `guild.member_promoted` and `guild.member_demoted`. No `by`: an automatic promotion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRoleChanged {
    pub user: UserRef,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserRef>,
}

/// `guild.member_presence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPresence {
    pub user: UserRef,
    /// `offline`, `online`, `in_run` or `idle`.
    pub state: String,
}

/// `guild.donation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Donation {
    pub user: UserRef,
    pub amount: u64,
    pub vault: u64,
}

/// `guild.payout`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub user: UserRef,
    pub by: UserRef,
    pub amount: u64,
    pub vault: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `guild.level_up`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelUp {
    pub level: u32,
    pub xp: u64,
    pub perks: Vec<String>,
}

/// `guild.profile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileChanged {
    pub guild: GuildProfile,
}

/// `guild.transfer_cancelled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCancelled {
    pub by: UserRef,
}

/// `guild.leader_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderChanged {
    pub from: UserRef,
    pub to: UserRef,
}

/// `guild.auto_kick_warning`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoKickWarning {
    pub user: UserRef,
    pub kick_at: u64,
}

/// `guild.disbanded`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disbanded {
    pub by: UserRef,
}
