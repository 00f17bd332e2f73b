//! Checks the golden examples of `README.md` (the normative spec) against the wire types.
//!
//! Every example is an HTML comment naming it, a `json` block and a `msgpack` block (hex bytes):
//!
//! ~~~text
//! <!-- golden: chat.send request -->
//! ```json
//! {"id":5,"op":"chat.send", ...}
//! ```
//! ```msgpack
//! 84 a2 69 64 05 ...
//! ```
//! ~~~
//!
//! A label is `<name> <kind>` with an optional free-text variant after it: `name` is an op for
//! kinds `request` and `reply`, an event for `push`, an error code for `error`. For each example
//! the two codecs must decode to the same value, the type the label names must decode both, and
//! encoding that typed value must give the example's bytes exactly. The README's error and close
//! code tables are checked against the crate too, so the spec cannot drift from the code.

use std::collections::BTreeSet;
use std::fmt::Debug;

use guildhall_protocol::{
    close, ev, op, ApplicationList, AuditPage, AutoKickWarning, BroadcastInfo, ChatDeleted,
    ChatHistoryPage, ChatMsg, ChatSent, ClientFrame, ClientOp, Codec, Disbanded, Donated, Donation,
    Done, ErrorCode, FlaggedRuns, GuildInfo, GuildList, GuildOp, HelloOk, InviteList,
    LeaderChanged, LevelUp, LiveRooms, MemberJoined, MemberKicked, MemberLeft, MemberPresence,
    MemberRoleChanged, ModMuted, ModOp, PaidOut, Payout, Penalty, PenaltyList, PersonalMutes, Pong,
    Presence, ProfileChanged, Push, RaidBoard, RaidEnded, RaidPhase, ReplayStarted, Reply, Report,
    ReportCreated, ReportList, RoleChanged, RoomJoined, RoomKicked, RoomMode, RoomReset,
    RunAccepted, Settings, StreamCrowd, StreamEvent, StreamInfo, StreamOp, StreamPage,
    StreamPublished, TransferCancelled, TransferPending, UserList, VaultView, Wallet, WarBoard,
    WarEnded, WarOp, WarRegistered,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

const README: &str = include_str!("../README.md");

const OPS: [&str; 72] = [
    op::HELLO,
    op::PING,
    op::ROOM_JOIN,
    op::ROOM_LEAVE,
    op::CHAT_SEND,
    op::CHAT_HISTORY,
    op::GUILD_CREATE,
    op::GUILD_GET,
    op::GUILD_EDIT,
    op::GUILD_SEARCH,
    op::GUILD_JOIN,
    op::GUILD_APPLY,
    op::GUILD_APPLICATIONS,
    op::GUILD_REVIEW,
    op::GUILD_INVITE,
    op::GUILD_INVITES,
    op::GUILD_ACCEPT,
    op::GUILD_DECLINE,
    op::GUILD_LEAVE,
    op::GUILD_KICK,
    op::GUILD_PROMOTE,
    op::GUILD_DEMOTE,
    op::GUILD_TRANSFER,
    op::GUILD_TRANSFER_CANCEL,
    op::GUILD_DISBAND,
    op::GUILD_PROTECT,
    op::GUILD_DONATE,
    op::GUILD_PAYOUT,
    op::GUILD_VAULT,
    op::GUILD_STATUS,
    op::WALLET_GET,
    op::MOD_MUTE,
    op::MOD_UNMUTE,
    op::MOD_KICK,
    op::MOD_BAN,
    op::MOD_UNBAN,
    op::MOD_DELETE,
    op::MOD_MODE,
    op::MOD_PENALIZE,
    op::MOD_PENALTIES,
    op::MOD_AUDIT,
    op::MOD_REPORTS,
    op::MOD_CLAIM,
    op::MOD_RESOLVE,
    op::MOD_ROOMS,
    op::REPORT_CREATE,
    op::PENALTY_APPEAL,
    op::BLOCK_ADD,
    op::BLOCK_REMOVE,
    op::BLOCK_LIST,
    op::MUTE_ADD,
    op::MUTE_REMOVE,
    op::MUTE_LIST,
    op::SETTINGS_GET,
    op::SETTINGS_SET,
    op::RUN_SUBMIT,
    op::WAR_REGISTER,
    op::WAR_GET,
    op::RAID_START,
    op::RAID_GET,
    op::RUN_FLAGGED,
    op::STREAM_OPEN,
    op::STREAM_PUBLISH,
    op::STREAM_ANNOTATE,
    op::STREAM_END,
    op::STREAM_GET,
    op::STREAM_LIST,
    op::STREAM_CHEER,
    op::STREAM_REPLAY,
    op::BROADCAST_OPEN,
    op::BROADCAST_GET,
    op::BROADCAST_END,
];
const EVENTS: [&str; 30] = [
    ev::CHAT_MSG,
    ev::ROOM_PRESENCE,
    ev::ROOM_RESET,
    ev::GUILD_MEMBER_JOINED,
    ev::GUILD_MEMBER_LEFT,
    ev::GUILD_MEMBER_KICKED,
    ev::GUILD_MEMBER_PROMOTED,
    ev::GUILD_MEMBER_DEMOTED,
    ev::GUILD_MEMBER_PRESENCE,
    ev::GUILD_DONATION,
    ev::GUILD_PAYOUT,
    ev::GUILD_LEVEL_UP,
    ev::GUILD_PROFILE,
    ev::GUILD_TRANSFER_PENDING,
    ev::GUILD_TRANSFER_CANCELLED,
    ev::GUILD_LEADER_CHANGED,
    ev::GUILD_AUTO_KICK_WARNING,
    ev::GUILD_DISBANDED,
    ev::GUILD_WAR_STARTED,
    ev::GUILD_RAID_STARTED,
    ev::CHAT_DELETED,
    ev::ROOM_MODE,
    ev::ROOM_KICKED,
    ev::WAR_BOARD,
    ev::WAR_ENDED,
    ev::RAID_BOARD,
    ev::RAID_PHASE,
    ev::RAID_ENDED,
    ev::STREAM_EVENT,
    ev::STREAM_CROWD,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Request,
    Reply,
    Push,
    Error,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Reply => "reply",
            Kind::Push => "push",
            Kind::Error => "error",
        }
    }
}

struct Golden {
    label: String,
    /// Op, event or error code.
    name: String,
    kind: Kind,
    line: usize,
    json: String,
    msgpack: Vec<u8>,
}

type Check = Result<(), String>;

/// Every line that opens an HTML comment mentioning `golden` is an example marker: one that
/// does not parse fails the test instead of being skipped.
fn parse_goldens(readme: &str) -> Vec<Golden> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut goldens = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if !(line.starts_with("<!--") && line.contains("golden")) {
            continue;
        }
        let at = i;
        let label = line
            .strip_prefix("<!-- golden:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim)
            .unwrap_or_else(|| panic!("README.md line {at}: malformed golden marker {line:?}"));
        let mut words = label.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            panic!("golden {label:?} (line {at}): the label must be `<name> <kind> [variant]`");
        };
        let kind = match kind {
            "request" => Kind::Request,
            "reply" => Kind::Reply,
            "push" => Kind::Push,
            "error" => Kind::Error,
            other => panic!("golden {label:?} (line {at}): unknown kind {other:?}"),
        };
        let json = fenced_block(&lines, &mut i, "json", label).join("\n");
        let hex = fenced_block(&lines, &mut i, "msgpack", label);
        let msgpack = hex
            .iter()
            .flat_map(|l| l.split_whitespace())
            .map(|byte| match (byte.len(), u8::from_str_radix(byte, 16)) {
                (2, Ok(b)) => b,
                _ => panic!("golden {label:?}: {byte:?} is not a two-digit hex byte"),
            })
            .collect();
        goldens.push(Golden {
            label: label.to_owned(),
            name: name.to_owned(),
            kind,
            line: at,
            json,
            msgpack,
        });
    }
    goldens
}

/// The lines of the next fenced block, which must be of `lang` and follow after blank lines only.
fn fenced_block<'a>(lines: &[&'a str], i: &mut usize, lang: &str, label: &str) -> Vec<&'a str> {
    while lines.get(*i).is_some_and(|l| l.trim().is_empty()) {
        *i += 1;
    }
    let open = format!("```{lang}");
    match lines.get(*i) {
        Some(l) if l.trim() == open => *i += 1,
        other => panic!("golden {label:?}: expected a {open} block, found {other:?}"),
    }
    let start = *i;
    while lines.get(*i).is_some_and(|l| l.trim() != "```") {
        *i += 1;
    }
    assert!(
        *i < lines.len(),
        "golden {label:?}: the {open} block is not closed"
    );
    let block = lines[start..*i].to_vec();
    *i += 1;
    block
}

/// JSON with the whitespace outside strings removed.
fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Both codecs carry the same value.
fn check_codecs_agree(g: &Golden) -> Check {
    let from_json: serde_json::Value =
        serde_json::from_str(&g.json).map_err(|e| format!("the JSON does not parse: {e}"))?;
    let from_msgpack: serde_json::Value = rmp_serde::from_slice(&g.msgpack)
        .map_err(|e| format!("the MessagePack does not decode: {e}"))?;
    if from_json != from_msgpack {
        return Err(format!(
            "JSON and MessagePack differ:\n  json:    {from_json}\n  msgpack: {from_msgpack}"
        ));
    }
    Ok(())
}

/// Encoding `value` in both codecs gives the golden bytes exactly.
fn check_encodes_to<T: Serialize + ?Sized>(g: &Golden, value: &T) -> Check {
    let json = Codec::Json
        .encode(value)
        .map_err(|e| format!("JSON encoding failed: {e}"))?;
    let want = compact_json(&g.json);
    if *json != *want.as_bytes() {
        return Err(format!(
            "re-encoded JSON differs (field order or value):\n  want: {want}\n  got:  {}",
            String::from_utf8_lossy(&json)
        ));
    }
    let msgpack = Codec::MsgPack
        .encode(value)
        .map_err(|e| format!("MessagePack encoding failed: {e}"))?;
    if *msgpack != *g.msgpack {
        return Err(format!(
            "re-encoded MessagePack differs:\n  want: {}\n  got:  {}",
            hex(&g.msgpack),
            hex(&msgpack)
        ));
    }
    Ok(())
}

/// Decodes both codecs as `T`, checks they agree and `accept` the value, and re-encodes it.
fn check_typed<T>(g: &Golden, accept: impl Fn(&T) -> Check) -> Check
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let type_name = std::any::type_name::<T>();
    let from_json: T = Codec::Json
        .decode(g.json.as_bytes())
        .map_err(|e| format!("JSON does not decode as {type_name}: {e}"))?;
    let from_msgpack: T = Codec::MsgPack
        .decode(&g.msgpack)
        .map_err(|e| format!("MessagePack does not decode as {type_name}: {e}"))?;
    if from_json != from_msgpack {
        return Err(format!(
            "the codecs decode differently:\n  json:    {from_json:?}\n  msgpack: {from_msgpack:?}"
        ));
    }
    accept(&from_json)?;
    check_encodes_to(g, &from_json)
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Check {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// A client frame with a typed payload: `ClientFrame`'s fields, in its order, around `d`.
#[derive(Serialize)]
struct TypedRequest<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    op: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    idem: Option<&'a str>,
    d: &'a T,
}

fn check_request(g: &Golden) -> Check {
    let frame = ClientFrame::decode(Codec::Json, g.json.as_bytes())
        .map_err(|e| format!("JSON is not a ClientFrame: {e}"))?;
    let from_msgpack = ClientFrame::decode(Codec::MsgPack, &g.msgpack)
        .map_err(|e| format!("MessagePack is not a ClientFrame: {e}"))?;
    ensure(frame == from_msgpack, || {
        format!("the codecs decode differently: {frame:?} vs {from_msgpack:?}")
    })?;
    ensure(frame.op == g.name, || {
        format!(
            "the frame's op is {:?}, the label says {:?}",
            frame.op, g.name
        )
    })?;
    let parsed = ClientOp::parse(&frame.op, &frame.d)
        .map_err(|e| format!("ClientOp::parse refused it: {e}"))?;
    ensure(frame.idem.is_none() || parsed.is_mutating(), || {
        format!("{} is not mutating: idem is ignored", g.name)
    })?;
    // The untyped frame must survive a round trip through both codecs.
    for codec in [Codec::Json, Codec::MsgPack] {
        let bytes = codec
            .encode(&frame)
            .map_err(|e| format!("{codec:?} encoding of ClientFrame failed: {e}"))?;
        let back = ClientFrame::decode(codec, &bytes)
            .map_err(|e| format!("{codec:?} round trip failed: {e}"))?;
        ensure(back == frame, || {
            format!("{codec:?} round trip changed the frame: {back:?}")
        })?;
    }
    // The typed payload must hold every field of the example, in the example's order.
    let (id, op, idem) = (frame.id, frame.op.as_str(), frame.idem.as_deref());
    macro_rules! typed {
        ($d:expr) => {
            check_encodes_to(
                g,
                &TypedRequest {
                    id,
                    op,
                    idem,
                    d: $d,
                },
            )
        };
    }
    match &parsed {
        ClientOp::Hello(d) => typed!(d),
        ClientOp::Ping(d) => typed!(d),
        ClientOp::RoomJoin(d) => typed!(d),
        ClientOp::RoomLeave(d) => typed!(d),
        ClientOp::ChatSend(d) => typed!(d),
        ClientOp::ChatHistory(d) => typed!(d),
        ClientOp::Guild(guild_op) => {
            ensure(guild_op.name() == g.name, || {
                format!("GuildOp::name is {:?}", guild_op.name())
            })?;
            match guild_op {
                GuildOp::Create(d) => typed!(d),
                GuildOp::Get(d) => typed!(d),
                GuildOp::Edit(d) => typed!(d),
                GuildOp::Search(d) => typed!(d),
                GuildOp::Join(d) => typed!(d),
                GuildOp::Apply(d) => typed!(d),
                GuildOp::Applications(d) => typed!(d),
                GuildOp::Review(d) => typed!(d),
                GuildOp::Invite(d) => typed!(d),
                GuildOp::Invites(d) => typed!(d),
                GuildOp::Accept(d) => typed!(d),
                GuildOp::Decline(d) => typed!(d),
                GuildOp::Leave(d) => typed!(d),
                GuildOp::Kick(d) => typed!(d),
                GuildOp::Promote(d) => typed!(d),
                GuildOp::Demote(d) => typed!(d),
                GuildOp::Transfer(d) => typed!(d),
                GuildOp::TransferCancel(d) => typed!(d),
                GuildOp::Disband(d) => typed!(d),
                GuildOp::Protect(d) => typed!(d),
                GuildOp::Donate(d) => typed!(d),
                GuildOp::Payout(d) => typed!(d),
                GuildOp::Vault(d) => typed!(d),
                GuildOp::Status(d) => typed!(d),
                GuildOp::WalletGet(d) => typed!(d),
            }
        }
        ClientOp::Mod(mod_op) => {
            ensure(mod_op.name() == g.name, || {
                format!("ModOp::name is {:?}", mod_op.name())
            })?;
            match mod_op {
                ModOp::Mute(d) => typed!(d),
                ModOp::Unmute(d) => typed!(d),
                ModOp::Kick(d) => typed!(d),
                ModOp::Ban(d) => typed!(d),
                ModOp::Unban(d) => typed!(d),
                ModOp::Delete(d) => typed!(d),
                ModOp::Mode(d) => typed!(d),
                ModOp::Penalize(d) => typed!(d),
                ModOp::Penalties(d) => typed!(d),
                ModOp::Audit(d) => typed!(d),
                ModOp::Reports(d) => typed!(d),
                ModOp::Claim(d) => typed!(d),
                ModOp::Resolve(d) => typed!(d),
                ModOp::Rooms(d) => typed!(d),
                ModOp::ReportCreate(d) => typed!(d),
                ModOp::Appeal(d) => typed!(d),
                ModOp::BlockAdd(d) => typed!(d),
                ModOp::BlockRemove(d) => typed!(d),
                ModOp::BlockList(d) => typed!(d),
                ModOp::MuteAdd(d) => typed!(d),
                ModOp::MuteRemove(d) => typed!(d),
                ModOp::MuteList(d) => typed!(d),
                ModOp::SettingsGet(d) => typed!(d),
                ModOp::SettingsSet(d) => typed!(d),
            }
        }
        ClientOp::War(war_op) => {
            ensure(war_op.name() == g.name, || {
                format!("WarOp::name is {:?}", war_op.name())
            })?;
            match war_op {
                WarOp::RunSubmit(d) => typed!(d),
                WarOp::Register(d) => typed!(d),
                WarOp::Get(d) => typed!(d),
                WarOp::RaidStart(d) => typed!(d),
                WarOp::RaidGet(d) => typed!(d),
                WarOp::Flagged(d) => typed!(d),
            }
        }
        ClientOp::Stream(stream_op) => {
            ensure(stream_op.name() == g.name, || {
                format!("StreamOp::name is {:?}", stream_op.name())
            })?;
            match stream_op {
                StreamOp::Open(d) => typed!(d),
                StreamOp::Publish(d) => typed!(d),
                StreamOp::Annotate(d) => typed!(d),
                StreamOp::End(d) => typed!(d),
                StreamOp::Get(d) => typed!(d),
                StreamOp::List(d) => typed!(d),
                StreamOp::Cheer(d) => typed!(d),
                StreamOp::Replay(d) => typed!(d),
                StreamOp::BroadcastOpen(d) => typed!(d),
                StreamOp::BroadcastGet(d) => typed!(d),
                StreamOp::BroadcastEnd(d) => typed!(d),
            }
        }
    }
}

fn success<T>(reply: &Reply<T>) -> Check {
    ensure(reply.ok && reply.d.is_some() && reply.err.is_none(), || {
        "a success reply needs ok: true and d, and no err".to_owned()
    })
}

fn check_reply(g: &Golden) -> Check {
    match g.name.as_str() {
        op::HELLO => check_typed::<Reply<HelloOk>>(g, success),
        op::PING => check_typed::<Reply<Pong>>(g, success),
        op::ROOM_JOIN => check_typed::<Reply<RoomJoined>>(g, success),
        op::ROOM_LEAVE => check_typed::<Reply<Done>>(g, success),
        op::CHAT_SEND => check_typed::<Reply<ChatSent>>(g, success),
        op::CHAT_HISTORY => check_typed::<Reply<ChatHistoryPage>>(g, success),
        op::GUILD_CREATE | op::GUILD_JOIN | op::GUILD_ACCEPT => {
            check_typed::<Reply<GuildInfo>>(g, |r| {
                success(r)?;
                let info = r.d.as_ref().ok_or("no d")?;
                ensure(info.role.is_some() && info.members.is_none(), || {
                    "create, join and accept fill role, not members".to_owned()
                })
            })
        }
        op::GUILD_GET => check_typed::<Reply<GuildInfo>>(g, |r| {
            success(r)?;
            let info = r.d.as_ref().ok_or("no d")?;
            ensure(info.members.is_some(), || "get fills members".to_owned())
        }),
        op::GUILD_EDIT => check_typed::<Reply<GuildInfo>>(g, success),
        op::GUILD_SEARCH => check_typed::<Reply<GuildList>>(g, success),
        op::GUILD_APPLICATIONS => check_typed::<Reply<ApplicationList>>(g, success),
        op::GUILD_INVITES => check_typed::<Reply<InviteList>>(g, success),
        op::GUILD_PROMOTE | op::GUILD_DEMOTE => check_typed::<Reply<RoleChanged>>(g, success),
        op::GUILD_TRANSFER => check_typed::<Reply<TransferPending>>(g, success),
        op::GUILD_DONATE => check_typed::<Reply<Donated>>(g, success),
        op::GUILD_PAYOUT => check_typed::<Reply<PaidOut>>(g, success),
        op::GUILD_VAULT => check_typed::<Reply<VaultView>>(g, success),
        op::WALLET_GET => check_typed::<Reply<Wallet>>(g, success),
        op::GUILD_APPLY
        | op::GUILD_REVIEW
        | op::GUILD_INVITE
        | op::GUILD_DECLINE
        | op::GUILD_LEAVE
        | op::GUILD_KICK
        | op::GUILD_TRANSFER_CANCEL
        | op::GUILD_DISBAND
        | op::GUILD_PROTECT
        | op::GUILD_STATUS => check_typed::<Reply<Done>>(g, success),
        _ => check_mod_reply(g),
    }
}

fn check_mod_reply(g: &Golden) -> Check {
    match g.name.as_str() {
        op::MOD_MUTE => check_typed::<Reply<ModMuted>>(g, success),
        op::MOD_MODE => check_typed::<Reply<RoomMode>>(g, success),
        op::MOD_PENALIZE => check_typed::<Reply<Penalty>>(g, |r| {
            success(r)?;
            let p = r.d.as_ref().ok_or("no d")?;
            ensure((1..=5).contains(&p.step), || {
                format!("step {} is off the ladder", p.step)
            })
        }),
        op::MOD_PENALTIES => check_typed::<Reply<PenaltyList>>(g, success),
        op::MOD_AUDIT => check_typed::<Reply<AuditPage>>(g, success),
        op::MOD_REPORTS => check_typed::<Reply<ReportList>>(g, success),
        op::MOD_CLAIM | op::MOD_RESOLVE => check_typed::<Reply<Report>>(g, success),
        op::MOD_ROOMS => check_typed::<Reply<LiveRooms>>(g, success),
        op::REPORT_CREATE => check_typed::<Reply<ReportCreated>>(g, success),
        op::BLOCK_LIST => check_typed::<Reply<UserList>>(g, success),
        op::MUTE_LIST => check_typed::<Reply<PersonalMutes>>(g, success),
        op::SETTINGS_GET | op::SETTINGS_SET => check_typed::<Reply<Settings>>(g, success),
        op::MOD_UNMUTE
        | op::MOD_KICK
        | op::MOD_BAN
        | op::MOD_UNBAN
        | op::MOD_DELETE
        | op::PENALTY_APPEAL
        | op::BLOCK_ADD
        | op::BLOCK_REMOVE
        | op::MUTE_ADD
        | op::MUTE_REMOVE => check_typed::<Reply<Done>>(g, success),
        _ => check_war_reply(g),
    }
}

/// The flags a run may carry.
const RUN_FLAGS: [&str; 4] = ["dna_per_run", "dna_per_minute", "too_short", "future"];

fn check_war_reply(g: &Golden) -> Check {
    match g.name.as_str() {
        op::RUN_SUBMIT => check_typed::<Reply<RunAccepted>>(g, |r| {
            success(r)?;
            let run = r.d.as_ref().ok_or("no d")?;
            ensure(
                run.flag.as_deref().is_none_or(|f| RUN_FLAGS.contains(&f)),
                || format!("{:?} is not a run flag", run.flag),
            )
        }),
        op::WAR_REGISTER => check_typed::<Reply<WarRegistered>>(g, success),
        op::WAR_GET => check_typed::<Reply<WarBoard>>(g, |r| {
            success(r)?;
            war_board(r.d.as_ref().ok_or("no d")?, &["active", "ended"])
        }),
        op::RAID_START => check_typed::<Reply<RaidBoard>>(g, |r| {
            success(r)?;
            let b = r.d.as_ref().ok_or("no d")?;
            raid_board(b, &["active"])?;
            ensure(b.remaining == b.hp && b.phase == 1 && b.runs == 0, || {
                "a raid starts at full HP, in phase 1, without runs".to_owned()
            })
        }),
        op::RAID_GET => check_typed::<Reply<RaidBoard>>(g, |r| {
            success(r)?;
            raid_board(
                r.d.as_ref().ok_or("no d")?,
                &["active", "victory", "defeat"],
            )
        }),
        op::RUN_FLAGGED => check_typed::<Reply<FlaggedRuns>>(g, |r| {
            success(r)?;
            let runs = &r.d.as_ref().ok_or("no d")?.runs;
            ensure(
                runs.windows(2)
                    .all(|w| w[0].accepted_at >= w[1].accepted_at)
                    && runs
                        .iter()
                        .all(|f| !f.flag.is_empty() && f.finished_at <= f.accepted_at),
                || "flagged runs come newest first, each with its flag".to_owned(),
            )
        }),
        _ => check_stream_reply(g),
    }
}

/// The kinds of a stream's feed events; the owner publishes the first four.
const STREAM_KINDS: [&str; 6] = ["start", "move", "tick", "data", "annotation", "end"];

/// A stream holds together: its room names it, its settings are in range, an ended stream says
/// when, and only an ended one has a replay.
fn stream_info(s: &StreamInfo, statuses: &[&str]) -> Check {
    ensure(statuses.contains(&s.status.as_str()), || {
        format!("stream status {:?} is not one of {statuses:?}", s.status)
    })?;
    ensure(s.room == format!("stream:{}", s.id), || {
        format!("stream {} has the room {:?}", s.id, s.room)
    })?;
    ensure(
        ["public", "unlisted", "guild"].contains(&s.visibility.as_str()),
        || format!("{:?} is not a visibility", s.visibility),
    )?;
    ensure(s.delay_s <= 900, || {
        format!("delay_s {} above 900", s.delay_s)
    })?;
    ensure(
        (1..=32).contains(&s.game.chars().count()) && s.title.chars().count() <= 100,
        || "game or title out of bounds".to_owned(),
    )?;
    ensure(
        (s.visibility != "guild" && !s.guild_live) || s.guild.is_some(),
        || "guild visibility and guild_live need the owner's guild".to_owned(),
    )?;
    ensure(s.board.is_none() || s.broadcast.is_some(), || {
        "a board belongs to a broadcast".to_owned()
    })?;
    ensure(s.viewers <= s.peak, || "viewers above the peak".to_owned())?;
    let ended = s.status == "ended";
    ensure(ended == s.ended_at.is_some(), || {
        "ended_at comes with an ended stream, and only then".to_owned()
    })?;
    ensure(s.ended_at.is_none_or(|e| e >= s.started_at), || {
        "a stream ends after it started".to_owned()
    })?;
    ensure(
        s.replay_until
            .is_none_or(|r| s.ended_at.is_some_and(|e| r > e)),
        || "only an ended stream has a replay, kept after its end".to_owned(),
    )
}

/// A broadcast holds together: its boards are its own, by board number, and its viewers are
/// its live boards' viewers.
fn broadcast_info(b: &BroadcastInfo, statuses: &[&str]) -> Check {
    ensure(statuses.contains(&b.status.as_str()), || {
        format!("broadcast status {:?} is not one of {statuses:?}", b.status)
    })?;
    ensure((b.status == "ended") == b.ended_at.is_some(), || {
        "ended_at comes with an ended broadcast, and only then".to_owned()
    })?;
    ensure(
        (1..=100).contains(&b.title.chars().count()) && b.description.chars().count() <= 500,
        || "title or description out of bounds".to_owned(),
    )?;
    for s in &b.boards {
        stream_info(s, &["live", "ended"])?;
        ensure(s.broadcast == Some(b.id) && s.board.is_some(), || {
            format!("stream {} is not a board of broadcast {}", s.id, b.id)
        })?;
    }
    ensure(
        b.boards.windows(2).all(|w| w[0].board <= w[1].board),
        || "boards come by board number".to_owned(),
    )?;
    let live: u64 = b
        .boards
        .iter()
        .filter(|s| s.status == "live")
        .map(|s| s.viewers)
        .sum();
    ensure(b.viewers == live && b.viewers <= b.peak, || {
        format!(
            "viewers {} is not the sum of the live boards' ({live}), or is above the peak",
            b.viewers
        )
    })
}

fn published(r: &Reply<StreamPublished>) -> Check {
    success(r)?;
    ensure(r.d.as_ref().is_some_and(|p| p.off >= 1), || {
        "a published event has an offset".to_owned()
    })
}

fn check_stream_reply(g: &Golden) -> Check {
    match g.name.as_str() {
        op::STREAM_OPEN => check_typed::<Reply<StreamInfo>>(g, |r| {
            success(r)?;
            let s = r.d.as_ref().ok_or("no d")?;
            stream_info(s, &["live"])?;
            ensure(s.replay_until.is_none(), || {
                "a new stream has no replay".to_owned()
            })
        }),
        op::STREAM_END => check_typed::<Reply<StreamInfo>>(g, |r| {
            success(r)?;
            stream_info(r.d.as_ref().ok_or("no d")?, &["ended"])
        }),
        op::STREAM_GET => check_typed::<Reply<StreamInfo>>(g, |r| {
            success(r)?;
            stream_info(r.d.as_ref().ok_or("no d")?, &["live", "ended"])
        }),
        op::STREAM_PUBLISH | op::STREAM_ANNOTATE => {
            check_typed::<Reply<StreamPublished>>(g, published)
        }
        op::STREAM_LIST => check_typed::<Reply<StreamPage>>(g, |r| {
            success(r)?;
            let page = r.d.as_ref().ok_or("no d")?;
            for s in &page.streams {
                stream_info(s, &["live"])?;
                ensure(s.visibility != "unlisted", || {
                    format!("stream {} is unlisted", s.id)
                })?;
            }
            Ok(())
        }),
        op::STREAM_CHEER => check_typed::<Reply<Done>>(g, success),
        op::STREAM_REPLAY => check_typed::<Reply<ReplayStarted>>(g, success),
        op::BROADCAST_OPEN => check_typed::<Reply<BroadcastInfo>>(g, |r| {
            success(r)?;
            let b = r.d.as_ref().ok_or("no d")?;
            broadcast_info(b, &["live"])?;
            ensure(b.boards.is_empty() && b.peak == 0, || {
                "a new broadcast has no boards".to_owned()
            })
        }),
        op::BROADCAST_GET => check_typed::<Reply<BroadcastInfo>>(g, |r| {
            success(r)?;
            broadcast_info(r.d.as_ref().ok_or("no d")?, &["live", "ended"])
        }),
        op::BROADCAST_END => check_typed::<Reply<BroadcastInfo>>(g, |r| {
            success(r)?;
            broadcast_info(r.d.as_ref().ok_or("no d")?, &["ended"])
        }),
        other => Err(format!("{other:?} is not an op")),
    }
}

/// A war scoreboard adds up: each side's score is its multiplied raw DNA plus its milestones,
/// and a PvE war (one side) names its benchmark.
fn war_board(b: &WarBoard, statuses: &[&str]) -> Check {
    ensure(statuses.contains(&b.status.as_str()), || {
        format!("war status {:?} is not one of {statuses:?}", b.status)
    })?;
    ensure(b.starts_at < b.ends_at, || "the window is empty".to_owned())?;
    ensure(matches!(b.sides.len(), 1 | 2), || {
        format!("a war has 1 or 2 sides, not {}", b.sides.len())
    })?;
    ensure((b.sides.len() == 1) == b.benchmark.is_some(), || {
        "a benchmark comes with a PvE war (one side), and only then".to_owned()
    })?;
    for side in &b.sides {
        ensure(
            side.score == side.raw * u64::from(side.multiplier_pct) / 100 + side.milestones,
            || format!("guild {}: the score does not add up", side.guild),
        )?;
        ensure(
            side.participants <= side.members && side.top.len() <= 3,
            || format!("guild {}: participants or top out of bounds", side.guild),
        )?;
    }
    Ok(())
}

/// A raid scoreboard holds together: HP left within the boss's, top 3 at most, most first.
fn raid_board(b: &RaidBoard, statuses: &[&str]) -> Check {
    ensure(statuses.contains(&b.status.as_str()), || {
        format!("raid status {:?} is not one of {statuses:?}", b.status)
    })?;
    ensure(b.starts_at < b.ends_at, || "the window is empty".to_owned())?;
    ensure(b.remaining <= b.hp && (1..=3).contains(&b.phase), || {
        "remaining above hp, or a phase other than 1-3".to_owned()
    })?;
    ensure(
        b.top.len() <= 3 && b.top.windows(2).all(|w| w[0].damage >= w[1].damage),
        || "top holds at most 3 raiders, most damage first".to_owned(),
    )
}

fn names_event_and_room<T>(push: &Push<'_, T>, name: &str) -> Check {
    ensure(push.ev == name, || {
        format!("ev is {:?}, the label says {name:?}", push.ev)
    })?;
    ensure(push.room.is_some(), || "a push names its room".to_owned())
}

/// Guild events are room-log events of a `guild:` room.
fn guild_event<T>(push: &Push<'_, T>, name: &str) -> Check {
    names_event_and_room(push, name)?;
    ensure(
        push.room
            .as_deref()
            .is_some_and(|r| r.starts_with("guild:")),
        || "a guild event belongs to a guild: room".to_owned(),
    )?;
    ensure(push.ep.is_some() && push.off.is_some(), || {
        "a log event carries ep and off".to_owned()
    })
}

fn check_guild_push(g: &Golden) -> Check {
    let name = g.name.as_str();
    match name {
        ev::GUILD_MEMBER_JOINED => {
            check_typed::<Push<'static, MemberJoined>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_MEMBER_LEFT => {
            check_typed::<Push<'static, MemberLeft>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_MEMBER_KICKED => check_typed::<Push<'static, MemberKicked>>(g, |p| {
            guild_event(p, name)?;
            ensure(p.d.by.is_some() != p.d.auto, || {
                "a kick names who kicked, or is automatic".to_owned()
            })
        }),
        ev::GUILD_MEMBER_PROMOTED | ev::GUILD_MEMBER_DEMOTED => {
            check_typed::<Push<'static, MemberRoleChanged>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_MEMBER_PRESENCE => {
            check_typed::<Push<'static, MemberPresence>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_DONATION => check_typed::<Push<'static, Donation>>(g, |p| guild_event(p, name)),
        ev::GUILD_PAYOUT => check_typed::<Push<'static, Payout>>(g, |p| guild_event(p, name)),
        ev::GUILD_LEVEL_UP => check_typed::<Push<'static, LevelUp>>(g, |p| guild_event(p, name)),
        ev::GUILD_PROFILE => {
            check_typed::<Push<'static, ProfileChanged>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_TRANSFER_PENDING => {
            check_typed::<Push<'static, TransferPending>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_TRANSFER_CANCELLED => {
            check_typed::<Push<'static, TransferCancelled>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_LEADER_CHANGED => {
            check_typed::<Push<'static, LeaderChanged>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_AUTO_KICK_WARNING => {
            check_typed::<Push<'static, AutoKickWarning>>(g, |p| guild_event(p, name))
        }
        ev::GUILD_DISBANDED => check_typed::<Push<'static, Disbanded>>(g, |p| guild_event(p, name)),
        ev::GUILD_WAR_STARTED => check_typed::<Push<'static, WarBoard>>(g, |p| {
            guild_event(p, name)?;
            ensure(p.d.runs == 0 && p.d.status == "active", || {
                "a war starts active, with no runs".to_owned()
            })?;
            ensure(
                p.d.sides.iter().any(|s| {
                    Some(format!("guild:{}", s.guild)) == p.room.as_deref().map(str::to_owned)
                }),
                || "the war is announced in the rooms of its guilds".to_owned(),
            )
        }),
        ev::GUILD_RAID_STARTED => check_typed::<Push<'static, RaidBoard>>(g, |p| {
            guild_event(p, name)?;
            ensure(
                p.d.remaining == p.d.hp
                    && p.d.runs == 0
                    && p.room.as_deref() == Some(format!("guild:{}", p.d.guild).as_str()),
                || "a raid starts at full HP, in its guild's room".to_owned(),
            )
        }),
        other => Err(format!("{other:?} is not an event")),
    }
}

/// Room-log events of any room: the moderation events.
fn log_event<T>(push: &Push<'_, T>, name: &str) -> Check {
    names_event_and_room(push, name)?;
    ensure(push.ep.is_some() && push.off.is_some(), || {
        "a log event carries ep and off".to_owned()
    })
}

fn check_push(g: &Golden) -> Check {
    let name = g.name.as_str();
    if name.starts_with("guild.") {
        return check_guild_push(g);
    }
    if name.starts_with("war.") || name.starts_with("raid.") {
        return check_war_push(g);
    }
    if name.starts_with("stream.") {
        return check_stream_push(g);
    }
    match name {
        ev::CHAT_DELETED => check_typed::<Push<'static, ChatDeleted>>(g, |p| log_event(p, name)),
        ev::ROOM_MODE => check_typed::<Push<'static, RoomMode>>(g, |p| log_event(p, name)),
        ev::ROOM_KICKED => check_typed::<Push<'static, RoomKicked>>(g, |p| log_event(p, name)),
        // Room-log events carry their position; presence does not.
        ev::CHAT_MSG => check_typed::<Push<'static, ChatMsg>>(g, |p| {
            names_event_and_room(p, name)?;
            ensure(p.ep.is_some() && p.off.is_some(), || {
                "a log event carries ep and off".to_owned()
            })
        }),
        ev::ROOM_PRESENCE => check_typed::<Push<'static, Presence>>(g, |p| {
            names_event_and_room(p, name)?;
            ensure(p.ep.is_none() && p.off.is_none(), || {
                "presence carries no ep or off".to_owned()
            })
        }),
        ev::ROOM_RESET => check_typed::<Push<'static, RoomReset>>(g, |p| {
            names_event_and_room(p, name)?;
            ensure(
                p.ep.as_deref() == Some(p.d.ep.as_str()) && p.off == Some(p.d.off),
                || "a reset carries its new position in the envelope and in d".to_owned(),
            )
        }),
        other => Err(format!("{other:?} is not an event")),
    }
}

/// War and raid events belong to the contest's room, `war:<id>` or `raid:<id>`.
fn contest_room<T>(push: &Push<'_, T>, name: &str, room: String) -> Check {
    names_event_and_room(push, name)?;
    ensure(push.room.as_deref() == Some(room.as_str()), || {
        format!("the event belongs to {room}, not {:?}", push.room)
    })
}

/// Scoreboard ticks are state, not log: no `ep`, no `off`.
fn contest_tick<T>(push: &Push<'_, T>, name: &str, room: String) -> Check {
    contest_room(push, name, room)?;
    ensure(push.ep.is_none() && push.off.is_none(), || {
        "a scoreboard tick carries no ep or off".to_owned()
    })
}

/// Results are room-log events: `ep` and `off`.
fn contest_result<T>(push: &Push<'_, T>, name: &str, room: String) -> Check {
    contest_room(push, name, room)?;
    ensure(push.ep.is_some() && push.off.is_some(), || {
        "a result is a log event: it carries ep and off".to_owned()
    })
}

fn check_war_push(g: &Golden) -> Check {
    let name = g.name.as_str();
    match name {
        ev::WAR_BOARD => check_typed::<Push<'static, WarBoard>>(g, |p| {
            contest_tick(p, name, format!("war:{}", p.d.war))?;
            war_board(&p.d, &["active"])
        }),
        ev::RAID_BOARD => check_typed::<Push<'static, RaidBoard>>(g, |p| {
            contest_tick(p, name, format!("raid:{}", p.d.raid))?;
            raid_board(&p.d, &["active"])
        }),
        ev::RAID_PHASE => check_typed::<Push<'static, RaidPhase>>(g, |p| {
            contest_tick(p, name, format!("raid:{}", p.d.raid))?;
            ensure(p.d.from < p.d.to && p.d.to <= 3, || {
                format!("a phase goes forward: {} to {}", p.d.from, p.d.to)
            })
        }),
        ev::WAR_ENDED => check_typed::<Push<'static, WarEnded>>(g, |p| {
            contest_result(p, name, format!("war:{}", p.d.board.war))?;
            war_board(&p.d.board, &["ended"])?;
            let guilds: Vec<u64> = p.d.board.sides.iter().map(|s| s.guild).collect();
            ensure(
                p.d.winner.is_none_or(|w| guilds.contains(&w))
                    && p.d.rewards.iter().all(|r| guilds.contains(&r.guild)),
                || "the winner and the rewarded belong to the war's sides".to_owned(),
            )?;
            let mvps: Vec<&str> =
                p.d.rewards
                    .iter()
                    .filter(|r| r.mvp)
                    .map(|r| r.user.as_str())
                    .collect();
            ensure(mvps == p.d.mvps, || {
                "mvps lists the rewards marked mvp, in their order".to_owned()
            })
        }),
        ev::RAID_ENDED => check_typed::<Push<'static, RaidEnded>>(g, |p| {
            contest_result(p, name, format!("raid:{}", p.d.board.raid))?;
            let want = if p.d.victory { "victory" } else { "defeat" };
            raid_board(&p.d.board, &[want])?;
            ensure(!p.d.victory || p.d.board.remaining == 0, || {
                "a victory leaves the boss no HP".to_owned()
            })?;
            ensure(p.d.victory || p.d.mvps.is_empty(), || {
                "a defeat has no MVP".to_owned()
            })
        }),
        other => Err(format!("{other:?} is not an event")),
    }
}

/// Stream events belong to a `stream:` room: feed events are log events (a replay's with the
/// `ep` "replay"), crowd ticks are state.
fn check_stream_push(g: &Golden) -> Check {
    let name = g.name.as_str();
    match name {
        ev::STREAM_EVENT => check_typed::<Push<'static, StreamEvent>>(g, |p| {
            names_event_and_room(p, name)?;
            ensure(
                p.room.as_deref().is_some_and(|r| r.starts_with("stream:")),
                || "a feed event belongs to a stream: room".to_owned(),
            )?;
            ensure(p.ep.is_some() && p.off.is_some_and(|o| o >= 1), || {
                "a feed event carries ep and off".to_owned()
            })?;
            // The variant names a replay's event; `ep` "replay" is a replay's and only its.
            let replay = g.label.ends_with("(replay)");
            ensure((p.ep.as_deref() == Some("replay")) == replay, || {
                if replay {
                    "a replay's event has the ep \"replay\"".to_owned()
                } else {
                    "only a replay's event has the ep \"replay\"".to_owned()
                }
            })?;
            ensure(STREAM_KINDS.contains(&p.d.kind.as_str()), || {
                format!("{:?} is not an event kind", p.d.kind)
            })?;
            ensure(!p.d.d.is_null(), || "the payload is never null".to_owned())?;
            if p.d.kind == "annotation" {
                let note = &p.d.d;
                let kind = note.get("type").and_then(|t| t.as_str()).unwrap_or("");
                ensure(
                    note.get("ply").is_some_and(|v| v.is_u64())
                        && ["text", "arrow", "highlight"].contains(&kind)
                        && note.get(kind).is_some(),
                    || "an annotation's d is {ply, type, and the field of its type}".to_owned(),
                )?;
            }
            Ok(())
        }),
        ev::STREAM_CROWD => check_typed::<Push<'static, StreamCrowd>>(g, |p| {
            contest_tick(p, name, format!("stream:{}", p.d.stream))?;
            ensure(p.d.viewers <= p.d.peak, || {
                "viewers above the peak".to_owned()
            })
        }),
        other => Err(format!("{other:?} is not an event")),
    }
}

fn check_error(g: &Golden) -> Check {
    check_typed::<Reply<()>>(g, |reply| {
        let err = reply.err.as_ref().ok_or("an error reply carries err")?;
        ensure(!reply.ok && reply.d.is_none(), || {
            "an error reply has ok: false and no d".to_owned()
        })?;
        ensure(err.code.as_str() == g.name, || {
            format!("the code is {:?}, the label says {:?}", err.code, g.name)
        })?;
        // `muted` carries retry_ms unless the mute is permanent; no other code has it.
        ensure(
            match err.code {
                ErrorCode::RateLimited => err.retry_ms.is_some(),
                ErrorCode::Muted => true,
                _ => err.retry_ms.is_none(),
            },
            || {
                "retry_ms comes with rate_limited (always) and muted (when not permanent) only"
                    .to_owned()
            },
        )
    })
}

#[test]
fn golden_examples_match_the_wire_types() {
    let goldens = parse_goldens(README);
    let mut failures = Vec::new();
    let mut labels = BTreeSet::new();
    for g in &goldens {
        if !labels.insert(g.label.as_str()) {
            failures.push(format!(
                "golden {:?} (line {}): the label is used twice",
                g.label, g.line
            ));
            continue;
        }
        let result = check_codecs_agree(g).and_then(|()| match g.kind {
            Kind::Request => check_request(g),
            Kind::Reply => check_reply(g),
            Kind::Push => check_push(g),
            Kind::Error => check_error(g),
        });
        if let Err(e) = result {
            failures.push(format!(
                "golden {:?} (README.md line {}): {e}",
                g.label, g.line
            ));
        }
    }

    // Coverage: a README edit that breaks or drops examples must not pass silently.
    let have: BTreeSet<(Kind, &str)> = goldens.iter().map(|g| (g.kind, g.name.as_str())).collect();
    for op in OPS {
        for kind in [Kind::Request, Kind::Reply] {
            if !have.contains(&(kind, op)) {
                failures.push(format!("no golden `{op} {}` in README.md", kind.as_str()));
            }
        }
    }
    for ev in EVENTS {
        if !have.contains(&(Kind::Push, ev)) {
            failures.push(format!("no golden `{ev} push` in README.md"));
        }
    }
    let errors = goldens.iter().filter(|g| g.kind == Kind::Error).count();
    if errors < 2 {
        failures.push(format!(
            "README.md has {errors} error goldens; at least 2 are required"
        ));
    }
    let minimum = 2 * OPS.len() + EVENTS.len() + 2;
    if goldens.len() < minimum {
        failures.push(format!(
            "README.md has {} goldens; at least {minimum} are required",
            goldens.len()
        ));
    }

    assert!(
        failures.is_empty(),
        "{} golden check(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every error code, listed through an exhaustive match so a new variant fails to compile here
/// until the spec's table is updated.
fn all_error_codes() -> Vec<ErrorCode> {
    use ErrorCode::*;
    let all = vec![
        BadFrame,
        UnknownOp,
        UnsupportedVersion,
        Unauthorized,
        Forbidden,
        NotFound,
        RateLimited,
        TooLong,
        LinkRefused,
        Filtered,
        Spam,
        NotMember,
        Invalid,
        ConnLimit,
        Unavailable,
        Internal,
        InsufficientFunds,
        LimitReached,
        Conflict,
        Muted,
        Banned,
        Implausible,
    ];
    for code in &all {
        match code {
            BadFrame | UnknownOp | UnsupportedVersion | Unauthorized | Forbidden | NotFound
            | RateLimited | TooLong | LinkRefused | Filtered | Spam | NotMember | Invalid
            | ConnLimit | Unavailable | Internal | InsufficientFunds | LimitReached | Conflict
            | Muted | Banned | Implausible => {}
        }
    }
    all
}

/// The cells of the README table row whose first cell is `key`.
fn table_row(key: &str) -> Option<Vec<String>> {
    README.lines().find_map(|line| {
        let cells: Vec<String> = line
            .trim()
            .strip_prefix('|')?
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        (cells.first()? == key).then_some(cells)
    })
}

#[test]
fn error_table_lists_every_code() {
    let missing: Vec<&str> = all_error_codes()
        .into_iter()
        .map(ErrorCode::as_str)
        .filter(|code| table_row(&format!("`{code}`")).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's error table lacks rows for {missing:?}"
    );
    for code in all_error_codes() {
        let wire = serde_json::to_value(code).expect("error codes serialize");
        assert_eq!(
            wire,
            code.as_str(),
            "ErrorCode::as_str disagrees with the wire name"
        );
    }
}

#[test]
fn close_table_matches_should_reconnect() {
    let codes = [
        close::NORMAL,
        close::DRAINING,
        close::MESSAGE_TOO_BIG,
        close::UNAUTHORIZED,
        close::FORBIDDEN,
        close::SLOW_CONSUMER,
        close::ABUSE,
        close::PROTOCOL,
    ];
    for code in codes {
        let row = table_row(&format!("`{code}`"))
            .unwrap_or_else(|| panic!("README.md's close table lacks {code}"));
        let want = if close::should_reconnect(code) {
            "yes"
        } else {
            "no"
        };
        // Columns: code, name, reconnect, meaning.
        let got = row
            .get(2)
            .map(|c| c.split_whitespace().next().unwrap_or(""))
            .unwrap_or("");
        assert_eq!(got, want, "README.md close code {code}: the reconnect column says {got:?}, should_reconnect says {want:?}");
    }
}
