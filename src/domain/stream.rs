//! Spectator streams' rules: who watches live, who with the delay, who not at all; which events
//! a late joiner needs to rebuild the game; when a delayed event is released; how fast a user
//! may cheer; how a replay is paced. No I/O.

use std::collections::VecDeque;

/// The longest delay a stream may set, ms (900 s: enough to spoil any live hint).
pub const MAX_DELAY_MS: u64 = 900_000;
pub const MAX_GAME_CHARS: usize = 32;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_ANNOTATION_CHARS: usize = 200;
pub const MAX_REPLAY_SPEED: f64 = 64.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Listed; anyone watches.
    Public,
    /// Not listed; anyone with the id watches.
    Unlisted,
    /// The owner's guild only.
    Guild,
}

impl Visibility {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "public" => Self::Public,
            "unlisted" => Self::Unlisted,
            "guild" => Self::Guild,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Guild => "guild",
        }
    }
}

/// What an event means to the server. Everything else about it is the game's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedKind {
    /// A new game: joiners start here.
    Start,
    /// A step after the last start or tick.
    Move,
    /// A full state: joiners start from the last one.
    Tick,
    /// Delivered in order, not kept for joiners (sounds, emotes).
    Data,
    /// A note on a ply, kept for joiners like a move.
    Annotation,
    End,
}

impl FeedKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "start" => Self::Start,
            "move" => Self::Move,
            "tick" => Self::Tick,
            "data" => Self::Data,
            "annotation" => Self::Annotation,
            "end" => Self::End,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Move => "move",
            Self::Tick => "tick",
            Self::Data => "data",
            Self::Annotation => "annotation",
            Self::End => "end",
        }
    }

    /// The kinds an owner publishes with `stream.publish`; the others have their own ops.
    pub fn is_publishable(self) -> bool {
        matches!(self, Self::Start | Self::Move | Self::Tick | Self::Data)
    }
}

/// Why a stream cannot be opened as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenRefusal {
    Delay,
    Game,
    Title,
    Visibility,
    BoardWithoutBroadcast,
    /// "guild" visibility or guild-mates live without a guild.
    NoGuild,
}

impl OpenRefusal {
    pub fn message(&self) -> String {
        match self {
            Self::Delay => format!("delay_s is 0 to {}", MAX_DELAY_MS / 1000),
            Self::Game => format!("game is 1 to {MAX_GAME_CHARS} characters"),
            Self::Title => format!("title is at most {MAX_TITLE_CHARS} characters"),
            Self::Visibility => "visibility is public, unlisted or guild".into(),
            Self::BoardWithoutBroadcast => "a board belongs to a broadcast".into(),
            Self::NoGuild => "guild streams are for members of a guild".into(),
        }
    }
}

/// The settings of a stream being opened, as asked.
pub struct OpenAsk<'a> {
    pub game: &'a str,
    pub title: &'a str,
    pub visibility: Option<&'a str>,
    pub delay_s: u32,
    pub guild_live: bool,
    pub has_broadcast: bool,
    pub has_board: bool,
    pub owner_guild: Option<i64>,
}

/// Checks a stream's settings; the visibility it will have.
pub fn check_open(ask: &OpenAsk<'_>, max_delay_s: u32) -> Result<Visibility, OpenRefusal> {
    if ask.delay_s > max_delay_s || u64::from(ask.delay_s) * 1000 > MAX_DELAY_MS {
        return Err(OpenRefusal::Delay);
    }
    let game_chars = ask.game.chars().count();
    if game_chars == 0 || game_chars > MAX_GAME_CHARS {
        return Err(OpenRefusal::Game);
    }
    if ask.title.chars().count() > MAX_TITLE_CHARS {
        return Err(OpenRefusal::Title);
    }
    let visibility = match ask.visibility {
        None => Visibility::Public,
        Some(v) => Visibility::parse(v).ok_or(OpenRefusal::Visibility)?,
    };
    if ask.has_board && !ask.has_broadcast {
        return Err(OpenRefusal::BoardWithoutBroadcast);
    }
    if (visibility == Visibility::Guild || ask.guild_live) && ask.owner_guild.is_none() {
        return Err(OpenRefusal::NoGuild);
    }
    Ok(visibility)
}

/// How a user sees a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// Every event as it happens: the owner, and guild-mates when the stream allows.
    Live,
    /// Every event `delay` after it happened.
    Delayed,
}

/// What decides who watches a stream and how.
pub struct Audience<'a> {
    pub visibility: Visibility,
    pub owner: &'a str,
    pub guild: Option<i64>,
    pub guild_live: bool,
}

/// A viewer as far as watching goes.
pub struct Viewer<'a> {
    pub id: &'a str,
    pub guild: Option<i64>,
    pub moderator: bool,
}

/// Whether and how a viewer watches; `None` when the stream is not theirs to watch.
/// Moderators watch any stream, delayed like everyone outside the owner's guild: the delay is
/// anti-cheat, and a moderator's screen can be shared too.
pub fn watch(audience: &Audience<'_>, viewer: &Viewer<'_>) -> Option<Watch> {
    if viewer.id == audience.owner {
        return Some(Watch::Live);
    }
    let guild_mate = audience.guild.is_some() && viewer.guild == audience.guild;
    if audience.visibility == Visibility::Guild && !guild_mate && !viewer.moderator {
        return None;
    }
    Some(if guild_mate && audience.guild_live {
        Watch::Live
    } else {
        Watch::Delayed
    })
}

/// The events a late joiner needs, kept as the feed goes by: the last start, the last tick
/// after it, the moves and annotations after that, and the end. A game that publishes ticks
/// keeps this short; one that never does keeps at most `cap` steps (the oldest go).
pub struct JoinState<T> {
    start: Option<T>,
    tick: Option<T>,
    steps: VecDeque<T>,
    end: Option<T>,
    cap: usize,
}

impl<T: Clone> JoinState<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            start: None,
            tick: None,
            steps: VecDeque::new(),
            end: None,
            cap: cap.max(1),
        }
    }

    pub fn push(&mut self, kind: FeedKind, item: T) {
        match kind {
            FeedKind::Start => {
                self.start = Some(item);
                self.tick = None;
                self.steps.clear();
                self.end = None;
            }
            FeedKind::Tick => {
                self.tick = Some(item);
                self.steps.clear();
            }
            FeedKind::Move | FeedKind::Annotation => {
                if self.steps.len() == self.cap {
                    self.steps.pop_front();
                }
                self.steps.push_back(item);
            }
            FeedKind::Data => {}
            FeedKind::End => self.end = Some(item),
        }
    }

    /// The events to send a joiner, in feed order.
    pub fn items(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.steps.len() + 3);
        out.extend(self.start.iter().cloned());
        out.extend(self.tick.iter().cloned());
        out.extend(self.steps.iter().cloned());
        out.extend(self.end.iter().cloned());
        out
    }
}

/// Delayed delivery: events in feed order, each released `delay_ms` after it happened. A
/// release time never goes back, so a clock step between two publishers cannot reorder.
pub struct DelayQueue<T> {
    delay_ms: u64,
    queue: VecDeque<(u64, T)>,
    last_due: u64,
}

impl<T> DelayQueue<T> {
    pub fn new(delay_ms: u64) -> Self {
        Self {
            delay_ms,
            queue: VecDeque::new(),
            last_due: 0,
        }
    }

    pub fn push(&mut self, ts_ms: u64, item: T) {
        let due = ts_ms.saturating_add(self.delay_ms).max(self.last_due);
        self.last_due = due;
        self.queue.push_back((due, item));
    }

    /// The items due at `now_ms`, in order.
    pub fn pop_due(&mut self, now_ms: u64) -> Vec<T> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(due, _)| *due <= now_ms) {
            if let Some((_, item)) = self.queue.pop_front() {
                out.push(item);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// At most `max` actions per sliding `window_ms` (cheers per user, events per stream).
#[derive(Clone, Debug, Default)]
pub struct RateWindow {
    times: VecDeque<u64>,
}

impl RateWindow {
    /// Records an action at `now_ms` if the window has room. When it has none, the error is
    /// how long until it has: the oldest action's age leaving the window (at least 1 ms).
    pub fn try_take(&mut self, now_ms: u64, max: usize, window_ms: u64) -> Result<(), u64> {
        while self
            .times
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= window_ms)
        {
            self.times.pop_front();
        }
        if self.times.len() >= max {
            let oldest = self.times.front().copied().unwrap_or(now_ms);
            return Err((oldest + window_ms).saturating_sub(now_ms).max(1));
        }
        self.times.push_back(now_ms);
        Ok(())
    }

    /// Nothing left to remember.
    pub fn is_idle(&self, now_ms: u64, window_ms: u64) -> bool {
        self.times
            .back()
            .is_none_or(|&t| now_ms.saturating_sub(t) >= window_ms)
    }
}

/// When each event of a replay is sent, ms after the playback starts: the original spacing
/// divided by the speed.
pub fn replay_schedule(timestamps: &[u64], speed: f64) -> Vec<u64> {
    let Some(&first) = timestamps.first() else {
        return Vec::new();
    };
    let speed = speed.clamp(1.0, MAX_REPLAY_SPEED);
    timestamps
        .iter()
        .map(|&ts| (ts.saturating_sub(first) as f64 / speed).round() as u64)
        .collect()
}

/// Whether a replay speed is one the server plays.
pub fn valid_speed(speed: f64) -> bool {
    speed.is_finite() && (1.0..=MAX_REPLAY_SPEED).contains(&speed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(game: &str) -> OpenAsk<'_> {
        OpenAsk {
            game,
            title: "",
            visibility: None,
            delay_s: 0,
            guild_live: false,
            has_broadcast: false,
            has_board: false,
            owner_guild: None,
        }
    }

    #[test]
    fn opening_checks_settings() {
        assert_eq!(check_open(&ask("snake"), 900), Ok(Visibility::Public));
        let delayed = OpenAsk {
            delay_s: 900,
            ..ask("snake")
        };
        assert_eq!(check_open(&delayed, 900), Ok(Visibility::Public));
        let too_long = OpenAsk {
            delay_s: 901,
            ..ask("snake")
        };
        assert_eq!(check_open(&too_long, 900), Err(OpenRefusal::Delay));
        // A configured maximum below 900 s binds too.
        assert_eq!(check_open(&delayed, 60), Err(OpenRefusal::Delay));
        assert_eq!(check_open(&ask(""), 900), Err(OpenRefusal::Game));
        assert_eq!(
            check_open(&ask(&"g".repeat(33)), 900),
            Err(OpenRefusal::Game)
        );
        let title = "t".repeat(101);
        let long_title = OpenAsk {
            title: &title,
            ..ask("chess")
        };
        assert_eq!(check_open(&long_title, 900), Err(OpenRefusal::Title));
        let odd = OpenAsk {
            visibility: Some("friends"),
            ..ask("chess")
        };
        assert_eq!(check_open(&odd, 900), Err(OpenRefusal::Visibility));
        let guild_only = OpenAsk {
            visibility: Some("guild"),
            ..ask("chess")
        };
        assert_eq!(check_open(&guild_only, 900), Err(OpenRefusal::NoGuild));
        let in_guild = OpenAsk {
            owner_guild: Some(3),
            visibility: Some("guild"),
            ..ask("chess")
        };
        assert_eq!(check_open(&in_guild, 900), Ok(Visibility::Guild));
        let live_mates = OpenAsk {
            guild_live: true,
            ..ask("chess")
        };
        assert_eq!(check_open(&live_mates, 900), Err(OpenRefusal::NoGuild));
        let board = OpenAsk {
            has_board: true,
            ..ask("chess")
        };
        assert_eq!(
            check_open(&board, 900),
            Err(OpenRefusal::BoardWithoutBroadcast)
        );
    }

    #[test]
    fn who_watches_how() {
        let public = Audience {
            visibility: Visibility::Public,
            owner: "o",
            guild: Some(1),
            guild_live: true,
        };
        let viewer = |id, guild, moderator| Viewer {
            id,
            guild,
            moderator,
        };
        assert_eq!(
            watch(&public, &viewer("o", Some(1), false)),
            Some(Watch::Live)
        );
        assert_eq!(
            watch(&public, &viewer("m", Some(1), false)),
            Some(Watch::Live)
        );
        assert_eq!(
            watch(&public, &viewer("x", Some(2), false)),
            Some(Watch::Delayed)
        );
        assert_eq!(
            watch(&public, &viewer("x", None, false)),
            Some(Watch::Delayed)
        );
        let no_live = Audience {
            guild_live: false,
            ..public
        };
        assert_eq!(
            watch(&no_live, &viewer("m", Some(1), false)),
            Some(Watch::Delayed)
        );
        let guild = Audience {
            visibility: Visibility::Guild,
            guild_live: false,
            ..public
        };
        assert_eq!(
            watch(&guild, &viewer("m", Some(1), false)),
            Some(Watch::Delayed)
        );
        assert_eq!(watch(&guild, &viewer("x", Some(2), false)), None);
        assert_eq!(watch(&guild, &viewer("x", None, false)), None);
        assert_eq!(
            watch(&guild, &viewer("mod", None, true)),
            Some(Watch::Delayed)
        );
        // A stream without a guild has no guild-mates: no one is live but the owner.
        let solo = Audience {
            visibility: Visibility::Unlisted,
            owner: "o",
            guild: None,
            guild_live: true,
        };
        assert_eq!(
            watch(&solo, &viewer("x", None, false)),
            Some(Watch::Delayed)
        );
    }

    #[test]
    fn joiners_get_start_last_tick_and_steps_since() {
        let mut s = JoinState::new(100);
        s.push(FeedKind::Data, 0);
        s.push(FeedKind::Start, 1);
        s.push(FeedKind::Move, 2);
        s.push(FeedKind::Data, 3);
        s.push(FeedKind::Annotation, 4);
        assert_eq!(s.items(), vec![1, 2, 4]);
        s.push(FeedKind::Tick, 5);
        s.push(FeedKind::Move, 6);
        assert_eq!(s.items(), vec![1, 5, 6]);
        s.push(FeedKind::Tick, 7);
        assert_eq!(s.items(), vec![1, 7]);
        s.push(FeedKind::End, 8);
        assert_eq!(s.items(), vec![1, 7, 8]);
        // A new game replaces everything.
        s.push(FeedKind::Start, 9);
        assert_eq!(s.items(), vec![9]);
    }

    #[test]
    fn join_state_is_capped() {
        let mut s = JoinState::new(3);
        s.push(FeedKind::Start, 0);
        for i in 1..=5 {
            s.push(FeedKind::Move, i);
        }
        assert_eq!(s.items(), vec![0, 3, 4, 5]);
    }

    #[test]
    fn delay_releases_in_order_at_their_time() {
        let mut q = DelayQueue::new(5_000);
        q.push(1_000, "a");
        q.push(1_100, "b");
        // Published on a node whose clock is behind: still after "b".
        q.push(1_050, "c");
        q.push(2_000, "d");
        assert!(q.pop_due(5_999).is_empty());
        assert_eq!(q.pop_due(6_000), vec!["a"]);
        assert_eq!(q.pop_due(6_100), vec!["b", "c"]);
        assert!(!q.is_empty());
        assert_eq!(q.pop_due(100_000), vec!["d"]);
        assert!(q.is_empty());
        let mut live = DelayQueue::new(0);
        live.push(10, 1);
        assert_eq!(live.pop_due(10), vec![1]);
    }

    #[test]
    fn rate_window_slides() {
        let mut w = RateWindow::default();
        for t in 0..5 {
            assert_eq!(w.try_take(t * 100, 5, 10_000), Ok(()));
        }
        // Full: the wait is until the oldest (at 0) leaves the window.
        assert_eq!(w.try_take(9_999, 5, 10_000), Err(1));
        assert_eq!(w.try_take(2_500, 5, 10_000), Err(7_500));
        assert!(!w.is_idle(9_999, 10_000));
        assert_eq!(w.try_take(10_000, 5, 10_000), Ok(()));
        // The next oldest is at 100: waiting what was said is enough.
        assert_eq!(w.try_take(10_050, 5, 10_000), Err(50));
        assert_eq!(w.try_take(10_100, 5, 10_000), Ok(()));
        assert!(w.is_idle(30_000, 10_000));
    }

    #[test]
    fn replays_keep_spacing_over_speed() {
        assert_eq!(replay_schedule(&[], 1.0), Vec::<u64>::new());
        assert_eq!(
            replay_schedule(&[1_000, 1_100, 3_000], 1.0),
            vec![0, 100, 2_000]
        );
        assert_eq!(
            replay_schedule(&[1_000, 1_100, 3_000], 4.0),
            vec![0, 25, 500]
        );
        assert!(valid_speed(1.0) && valid_speed(64.0) && valid_speed(2.5));
        assert!(!valid_speed(0.5) && !valid_speed(65.0) && !valid_speed(f64::NAN));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            FeedKind::Start,
            FeedKind::Move,
            FeedKind::Tick,
            FeedKind::Data,
            FeedKind::Annotation,
            FeedKind::End,
        ] {
            assert_eq!(FeedKind::parse(k.as_str()), Some(k));
        }
        assert!(!FeedKind::End.is_publishable() && !FeedKind::Annotation.is_publishable());
        assert!(FeedKind::Tick.is_publishable());
        assert_eq!(FeedKind::parse("win"), None);
    }
}
