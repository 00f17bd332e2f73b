//! Room names (`kind:id`) and who may enter which room.

use std::fmt;

/// The kinds of room the protocol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomKind {
    Chan,
    Dm,
    Guild,
    War,
    Raid,
    /// A stream's feed.
    Stream,
    /// A stream's spectator chat.
    StreamChat,
}

impl RoomKind {
    fn from_prefix(prefix: &str) -> Option<Self> {
        Some(match prefix {
            "chan" => Self::Chan,
            "dm" => Self::Dm,
            "guild" => Self::Guild,
            "war" => Self::War,
            "raid" => Self::Raid,
            "stream" => Self::Stream,
            "stream-chat" => Self::StreamChat,
            _ => return None,
        })
    }

    /// Whether the room carries chat.
    pub fn is_chat(self) -> bool {
        matches!(self, Self::Chan | Self::Dm | Self::Guild | Self::StreamChat)
    }
}

/// Longest room name accepted, in bytes.
pub const MAX_ROOM_NAME: usize = 160;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomNameError {
    Malformed,
    UnknownKind,
}

impl fmt::Display for RoomNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => {
                f.write_str("room names are kind:id with id of [A-Za-z0-9_.:-], at most 160 bytes")
            }
            Self::UnknownKind => f.write_str("unknown room kind"),
        }
    }
}

/// A validated room name. For DMs the two user ids are kept so access is a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomName {
    pub kind: RoomKind,
    full: String,
}

/// User ids: what `sub` may hold. Kept narrow so ids can be embedded in room names and keys.
pub fn is_valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl RoomName {
    pub fn parse(name: &str) -> Result<Self, RoomNameError> {
        if name.len() > MAX_ROOM_NAME {
            return Err(RoomNameError::Malformed);
        }
        let (prefix, id) = name.split_once(':').ok_or(RoomNameError::Malformed)?;
        let valid_id = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if !valid_id {
            return Err(RoomNameError::Malformed);
        }
        let kind = RoomKind::from_prefix(prefix).ok_or(RoomNameError::UnknownKind)?;
        if kind == RoomKind::Dm {
            // dm:<a>:<b> with a < b, so one pair of users has exactly one room.
            let (a, b) = id.split_once(':').ok_or(RoomNameError::Malformed)?;
            if !is_valid_user_id(a) || !is_valid_user_id(b) || a >= b {
                return Err(RoomNameError::Malformed);
            }
        }
        Ok(Self {
            kind,
            full: name.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The DM room of two users, with the ids in canonical order.
    pub fn dm(a: &str, b: &str) -> String {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        format!("dm:{lo}:{hi}")
    }
}

/// Why a user may not enter a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessDenied {
    /// Not a party to this room.
    Forbidden,
}

/// Who may enter a room, as far as the name tells. Public channels are open to every
/// authenticated user; a DM only to its two users; a guild room to the guild's members, which
/// the guild service checks against the store.
pub fn may_enter(room: &RoomName, user_id: &str) -> Result<(), AccessDenied> {
    match room.kind {
        RoomKind::Chan => Ok(()),
        RoomKind::Dm => {
            let pair = room.full.trim_start_matches("dm:");
            match pair.split_once(':') {
                Some((a, b)) if a == user_id || b == user_id => Ok(()),
                _ => Err(AccessDenied::Forbidden),
            }
        }
        // The guild service checks membership; wars and raids are open to spectators; the
        // stream service checks a stream's visibility.
        RoomKind::Guild
        | RoomKind::War
        | RoomKind::Raid
        | RoomKind::Stream
        | RoomKind::StreamChat => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_room_names() {
        let cases: &[(&str, Result<RoomKind, RoomNameError>)] = &[
            ("chan:lobby", Ok(RoomKind::Chan)),
            ("chan:eu-west.1", Ok(RoomKind::Chan)),
            ("dm:alice:bob", Ok(RoomKind::Dm)),
            ("dm:bob:alice", Err(RoomNameError::Malformed)),
            ("dm:alice:alice", Err(RoomNameError::Malformed)),
            ("dm:alice", Err(RoomNameError::Malformed)),
            ("guild:42", Ok(RoomKind::Guild)),
            ("stream:42", Ok(RoomKind::Stream)),
            ("stream-chat:42", Ok(RoomKind::StreamChat)),
            ("lobby", Err(RoomNameError::Malformed)),
            ("chan:", Err(RoomNameError::Malformed)),
            ("chan:has space", Err(RoomNameError::Malformed)),
            ("chan:ünï", Err(RoomNameError::Malformed)),
            ("nope:1", Err(RoomNameError::UnknownKind)),
        ];
        for (name, want) in cases {
            assert_eq!(RoomName::parse(name).map(|r| r.kind), *want, "{name}");
        }
        assert_eq!(
            RoomName::parse(&format!("chan:{}", "a".repeat(200))),
            Err(RoomNameError::Malformed)
        );
    }

    #[test]
    fn dm_names_are_canonical() {
        assert_eq!(RoomName::dm("bob", "alice"), "dm:alice:bob");
        assert_eq!(RoomName::dm("alice", "bob"), "dm:alice:bob");
    }

    #[test]
    fn access() {
        let dm = RoomName::parse("dm:alice:bob").expect("valid");
        assert_eq!(may_enter(&dm, "alice"), Ok(()));
        assert_eq!(may_enter(&dm, "bob"), Ok(()));
        assert_eq!(may_enter(&dm, "carol"), Err(AccessDenied::Forbidden));
        let chan = RoomName::parse("chan:lobby").expect("valid");
        assert_eq!(may_enter(&chan, "carol"), Ok(()));
        let war = RoomName::parse("war:7").expect("valid");
        assert_eq!(may_enter(&war, "carol"), Ok(()));
        let stream = RoomName::parse("stream:7").expect("valid");
        assert_eq!(may_enter(&stream, "carol"), Ok(()));
    }

    #[test]
    fn user_ids() {
        assert!(is_valid_user_id("u-42_x.y"));
        assert!(!is_valid_user_id(""));
        assert!(!is_valid_user_id("a:b"));
        assert!(!is_valid_user_id(&"a".repeat(65)));
    }
}
