//! Configuration: built-in defaults, then a TOML file, then `GUILDHALL_*` environment variables,
//! then command-line flags, each layer overriding the one before.
//!
//! Nested keys map to env vars with `__`: `limits.heartbeat_ms` is `GUILDHALL_LIMITS__HEARTBEAT_MS`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::domain::filter::FilterLevel;
use crate::domain::guild::preset::{Preset, PresetError};

/// A value that must never reach a log line.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlg {
    #[default]
    HS256,
    RS256,
    EdDSA,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP and WebSocket listener binds.
    pub bind: SocketAddr,
    /// Where SQLite and the generated JWT secret live.
    pub data_dir: PathBuf,
    /// This node's name in replies and logs; random when absent.
    pub node_id: Option<String>,
    /// HS256 shared secret. When absent (and no public key), one is generated in `data_dir`.
    pub jwt_secret: Option<Secret>,
    /// `HS256` (shared secret), `RS256` or `EdDSA` (public key file, PEM).
    pub jwt_alg: JwtAlg,
    pub jwt_public_key_file: Option<PathBuf>,
    /// Redis for cluster mode (`redis://host:6379`); absent means the in-process broker.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share a Redis.
    pub redis_prefix: String,
    /// PostgreSQL for cluster mode (`postgres://user@host/db`); absent means SQLite in `data_dir`.
    pub database_url: Option<Secret>,
    /// PostgreSQL schema to use (created if missing); absent means the server's default.
    pub database_schema: Option<String>,
    pub limits: Limits,
    pub chat: ChatConfig,
    pub rooms: RoomsConfig,
    pub store: StoreConfig,
    /// The game preset and a studio's overrides of it (`[game] preset = "krog"`, then any
    /// preset key: `capacity = 60`, `[game.vault] cap = 80000`).
    pub game: GameConfig,
    pub guilds: GuildsConfig,
    pub moderation: ModerationConfig,
    /// Finished runs: who may report them and what is plausible.
    pub runs: RunsConfig,
    /// The live war and raid scoreboards.
    pub wars: WarsConfig,
    /// Spectator streams: delays, cheers, spectator chat, replays.
    pub streams: StreamsConfig,
    /// Key of the server-to-server API (`/api`), sent as `Authorization: Bearer <key>`. Absent
    /// means the API answers 503: nothing there is open without a key.
    pub api_key: Option<Secret>,
    /// How long a drain waits for connections to close and writes to flush, ms.
    pub shutdown_grace_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7700)),
            data_dir: PathBuf::from("./data"),
            node_id: None,
            jwt_secret: None,
            jwt_alg: JwtAlg::HS256,
            jwt_public_key_file: None,
            redis_url: None,
            redis_prefix: "guildhall".to_owned(),
            database_url: None,
            database_schema: None,
            limits: Limits::default(),
            chat: ChatConfig::default(),
            rooms: RoomsConfig::default(),
            store: StoreConfig::default(),
            game: GameConfig::default(),
            guilds: GuildsConfig::default(),
            moderation: ModerationConfig::default(),
            runs: RunsConfig::default(),
            wars: WarsConfig::default(),
            streams: StreamsConfig::default(),
            api_key: None,
            shutdown_grace_ms: 5_000,
        }
    }
}

/// Per-connection bounds. What happens at each is in the protocol spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest frame served, bytes; larger ones get `too_long` (up to 1 MiB, then close 1009).
    pub max_frame_bytes: usize,
    /// Time allowed for the first frame (`hello`), ms.
    pub hello_timeout_ms: u64,
    /// The server pings this often; a connection silent for 3 intervals is closed.
    pub heartbeat_ms: u64,
    /// Pre-encoded frames waiting for one connection; overflow closes it with 4008.
    pub outbound_queue: usize,
    /// Sustained frames per second a connection may send, and the burst above it.
    pub frames_per_sec: u32,
    pub frame_burst: u32,
    /// Refused frames (rate, malformed) tolerated per minute before the connection is closed.
    pub strikes_per_min: u32,
    pub max_conns_per_user: usize,
    /// Connections per client IP; 0 is unlimited (the right choice behind a load balancer).
    pub max_conns_per_ip: usize,
    pub max_rooms_per_conn: usize,
    /// Longest `idem` key, bytes.
    pub max_idem_len: usize,
    /// Kernel send buffer per socket, bytes; 0 leaves it to the kernel's autotuning (up to
    /// `net.ipv4.tcp_wmem`, often 4 MiB). A smaller buffer finds slow consumers sooner and
    /// bounds how stale their data can get.
    pub socket_send_buffer: usize,
    /// A busy connection writes at most once per this many µs; frames arriving meanwhile share
    /// one write (one syscall). 0 writes every batch at once. A quiet connection's first
    /// frame never waits.
    pub write_coalesce_us: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            hello_timeout_ms: 10_000,
            heartbeat_ms: 25_000,
            outbound_queue: 1_024,
            frames_per_sec: 20,
            frame_burst: 60,
            strikes_per_min: 30,
            max_conns_per_user: 8,
            max_conns_per_ip: 0,
            max_rooms_per_conn: 64,
            max_idem_len: 64,
            socket_send_buffer: 0,
            write_coalesce_us: 2_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatConfig {
    pub max_chars: usize,
    pub min_gap_ms: u64,
    pub window_ms: u64,
    pub max_per_window: usize,
    pub repeat_window_ms: u64,
    /// The profanity filter of channels not listed in `channels`.
    pub filter: FilterLevel,
    /// Messages returned with `room.join` of a chat room.
    pub history_on_join: u32,
    /// Per-room overrides, keyed by room name: `[chat.channels."chan:kids"] filter = "strict"`.
    pub channels: HashMap<String, ChannelConfig>,
    /// How long an `idem` key remembers its first result, ms.
    pub idem_ttl_ms: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_chars: crate::domain::chat_rules::DEFAULT_MAX_CHARS,
            min_gap_ms: 3_000,
            window_ms: 300_000,
            max_per_window: 20,
            repeat_window_ms: 60_000,
            filter: FilterLevel::Medium,
            history_on_join: 50,
            channels: HashMap::new(),
            idem_ttl_ms: 300_000,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelConfig {
    pub filter: Option<FilterLevel>,
}

/// Spectator streams (`[streams]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamsConfig {
    /// The longest delay a stream may set, s (at most 900).
    pub max_delay_s: u32,
    /// The largest game payload of one event, bytes of JSON.
    pub max_event_bytes: usize,
    /// Events one stream may publish per second.
    pub max_events_per_sec: usize,
    /// The cheers spectators may send.
    pub cheer_emojis: Vec<String>,
    /// Cheers one user may send per 10 s, across streams.
    pub cheers_per_10s: usize,
    /// How often `stream.crowd` may be pushed (and the counts are taken), ms.
    pub crowd_every_ms: u64,
    /// Spectator chat's own send limits (`stream-chat:` rooms).
    pub chat_min_gap_ms: u64,
    pub chat_window_ms: u64,
    pub chat_max_per_window: usize,
    /// How long a replay kept with `stream.end {keep: true}` lasts, hours.
    pub replay_ttl_hours: u64,
    /// How long the replay of a guild's top-10 war run lasts, hours.
    pub war_replay_ttl_hours: u64,
    /// How long the events of an ended stream nobody keeps stay, s (late spectators finish
    /// watching its delay; a war run's place in its guild's top 10 is settled).
    pub unkept_retention_s: u64,
    /// A live stream with no event for this long is ended (its owner's phone died), s.
    pub idle_end_s: u64,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            max_delay_s: 900,
            max_event_bytes: 4_096,
            max_events_per_sec: 50,
            cheer_emojis: ["👏", "🔥", "❤️", "😮", "😂", "🐍", "♟️"]
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            cheers_per_10s: 5,
            crowd_every_ms: 1_000,
            chat_min_gap_ms: 1_000,
            chat_window_ms: 60_000,
            chat_max_per_window: 20,
            replay_ttl_hours: 720,
            war_replay_ttl_hours: 48,
            unkept_retention_s: 3_600,
            idle_end_s: 600,
        }
    }
}

/// The retained tail of each room's log: whichever bound is smaller wins.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomsConfig {
    pub tail_max_events: usize,
    pub tail_max_age_secs: u64,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            tail_max_events: 1_000,
            tail_max_age_secs: 24 * 3600,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// Most rows one group commit writes.
    pub batch_max: usize,
    /// How long an op waits for its write to commit before answering `unavailable`, ms.
    pub write_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            batch_max: 256,
            write_timeout_ms: 5_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GameConfig {
    /// `supasnake` (default), `krog` or `datavism`.
    #[serde(default = "default_game")]
    pub preset: String,
    /// Any key of the preset, replacing its value (objects merge key by key).
    #[serde(flatten)]
    pub overrides: serde_json::Map<String, serde_json::Value>,
}

fn default_game() -> String {
    "supasnake".to_owned()
}

impl Default for GameConfig {
    fn default() -> Self {
        Self {
            preset: default_game(),
            overrides: serde_json::Map::new(),
        }
    }
}

impl GameConfig {
    /// The preset with the overrides applied, checked.
    pub fn resolve(&self) -> Result<Preset, PresetError> {
        Preset::resolve(
            &self.preset,
            &serde_json::Value::Object(self.overrides.clone()),
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GuildsConfig {
    /// How often the time-based rules run (probation, auto-kick, transfers), ms.
    pub jobs_every_ms: u64,
    /// How long a node holds the jobs lease without renewing it, ms; another node takes the
    /// jobs over this long after the holder stops.
    pub lease_ms: u64,
    /// How long a node may go without heartbeating before the presence it set is cleared, ms.
    pub node_timeout_ms: u64,
}

impl Default for GuildsConfig {
    fn default() -> Self {
        Self {
            jobs_every_ms: 30_000,
            lease_ms: 90_000,
            node_timeout_ms: 60_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ModerationConfig {
    /// In panic mode only accounts at least this many days old (token claim `created_at`) speak.
    pub panic_min_account_days: u32,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            panic_min_account_days: 7,
        }
    }
}

/// What a run may claim before it is an outlier. An outlier is always flagged for moderators;
/// `outliers` decides whether it also counts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsConfig {
    /// Clients may report their own runs over the socket (`run.submit`). Off by default: a run
    /// is usually reported by the game's backend, which a player cannot forge.
    pub client_submit: bool,
    pub max_dna_per_run: u64,
    /// DNA one user may collect in any minute, across their runs (counted per node).
    pub max_dna_per_minute: u64,
    pub min_duration_ms: u64,
    pub outliers: OutlierPolicy,
    /// How far in the future a run's `finished_at` may be (clock skew), ms.
    pub max_clock_skew_ms: u64,
    /// Runs a write batch takes at most.
    pub batch_max: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlierPolicy {
    /// Counted, and flagged.
    #[default]
    Accept,
    /// Refused with `implausible`, and flagged.
    Refuse,
}

impl Default for RunsConfig {
    fn default() -> Self {
        Self {
            client_submit: false,
            max_dna_per_run: 50_000,
            max_dna_per_minute: 150_000,
            min_duration_ms: 5_000,
            outliers: OutlierPolicy::Accept,
            max_clock_skew_ms: 60_000,
            batch_max: 2_048,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WarsConfig {
    /// How often a live room pushes its scoreboard while runs arrive, at most, ms.
    pub board_every_ms: u64,
    /// How often the scheduler looks at the calendar, matches guilds and ends wars and raids, ms.
    pub tick_ms: u64,
    /// How often a node saves its scoreboards' snapshots, ms.
    pub snapshot_every_ms: u64,
    /// How often a node checks its scoreboards against the store, ms.
    pub reconcile_every_ms: u64,
    /// How long after its window a war or raid stays open for runs that finished inside it
    /// but are reported late (a phone that was offline), ms.
    pub settle_grace_ms: u64,
}

impl Default for WarsConfig {
    fn default() -> Self {
        Self {
            board_every_ms: 250,
            tick_ms: 5_000,
            snapshot_every_ms: 30_000,
            reconcile_every_ms: 5_000,
            settle_grace_ms: 60_000,
        }
    }
}

/// Values given on the command line; they override every other layer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CliOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

impl Config {
    /// Layers defaults, the file (if given), `GUILDHALL_*` env vars and CLI flags.
    pub fn load(file: Option<&Path>, cli: &CliOverrides) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("GUILDHALL_").split("__"))
            .merge(Serialized::defaults(cli))
            .extract()
            .map_err(Box::new)
    }

    pub fn filter_for(&self, room: &str) -> FilterLevel {
        self.chat
            .channels
            .get(room)
            .and_then(|c| c.filter)
            .unwrap_or(self.chat.filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
    fn file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "g.toml",
                r#"
                bind = "0.0.0.0:9000"
                data_dir = "/var/lib/guildhall"
                [chat]
                filter = "strict"
                [chat.channels."chan:free"]
                filter = "off"
                [limits]
                heartbeat_ms = 1000
                "#,
            )?;
            jail.set_env("GUILDHALL_LIMITS__HEARTBEAT_MS", "2000");
            jail.set_env("GUILDHALL_JWT_SECRET", "from-env");
            let cli = CliOverrides {
                bind: Some("127.0.0.1:1234".parse().expect("addr")),
                ..CliOverrides::default()
            };
            let config = Config::load(Some(Path::new("g.toml")), &cli).expect("loads");
            assert_eq!(config.bind.to_string(), "127.0.0.1:1234", "flags win");
            assert_eq!(
                config.data_dir,
                PathBuf::from("/var/lib/guildhall"),
                "file over defaults"
            );
            assert_eq!(config.limits.heartbeat_ms, 2000, "env over file");
            assert_eq!(
                config.jwt_secret.as_ref().map(Secret::expose),
                Some("from-env")
            );
            assert_eq!(config.filter_for("chan:free"), FilterLevel::Off);
            assert_eq!(config.filter_for("chan:other"), FilterLevel::Strict);
            assert_eq!(
                config.limits.max_frame_bytes, 65_536,
                "defaults fill the rest"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
    fn game_preset_overrides_from_file_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "g.toml",
                r#"
                [game]
                preset = "supasnake"
                capacity = 60
                create_cost = 2500
                [game.vault]
                cap = 80000
                [game.perks]
                chat_level = 3
                [game.war.schedule]
                time_zone = "Europe/Berlin"
                registration_opens = { day = "wed", at = "00:00" }
                war_starts = { day = "thu", at = "18:00" }
                [game.raid.boss]
                hp = 2000000
                "#,
            )?;
            jail.set_env("GUILDHALL_GAME__CREATE_COST", "3000");
            jail.set_env("GUILDHALL_GAME__WAR__SCHEDULE__ENABLED", "false");
            let config =
                Config::load(Some(Path::new("g.toml")), &CliOverrides::default()).expect("loads");
            let preset = config.game.resolve().expect("resolves");
            assert_eq!(preset.capacity, 60);
            assert_eq!(preset.create_cost, 3_000, "env over file");
            assert_eq!(preset.vault.cap, 80_000);
            assert_eq!(
                preset.vault.daily_per_member, 10_000,
                "unnamed keys keep the preset's"
            );
            assert_eq!(preset.perks.chat_level, 3);
            assert_eq!(preset.perks.raid_level, 40);
            assert_eq!(preset.war.schedule.time_zone, "Europe/Berlin");
            assert_eq!(preset.war.schedule.war_starts.at, "18:00");
            assert!(!preset.war.schedule.enabled, "env over the preset");
            assert_eq!(preset.raid.boss.hp, 2_000_000);
            assert_eq!(
                preset.raid.boss.phase_at,
                [666_666, 333_333],
                "merged, not replaced"
            );

            jail.create_file("bad.toml", "[game]\ncapacty = 60\n")?;
            let config =
                Config::load(Some(Path::new("bad.toml")), &CliOverrides::default()).expect("loads");
            assert!(config.game.resolve().is_err(), "a misspelt key is refused");
            jail.create_file(
                "tz.toml",
                "[game.war.schedule]\ntime_zone = \"Mars/Olympus\"\n",
            )?;
            let config =
                Config::load(Some(Path::new("tz.toml")), &CliOverrides::default()).expect("loads");
            assert!(
                config.game.resolve().is_err(),
                "an unknown time zone is refused"
            );
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let config = Config {
            jwt_secret: Some(Secret::new("hunter2")),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
