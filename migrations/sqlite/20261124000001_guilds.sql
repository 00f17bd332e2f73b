-- Guilds, their members, applications and invites, pending leadership transfers; wallets and
-- the ledger every balance change goes through; job leases and the node registry.
--
-- The same statements run on SQLite and PostgreSQL (only the id columns differ), so the one
-- set of queries in src/store/guild serves both backends.

CREATE TABLE guilds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT   NOT NULL,
    -- Names are unique case-insensitively: the key is the lowercased name.
    name_key       TEXT   NOT NULL UNIQUE,
    tag            TEXT   NOT NULL UNIQUE,
    description    TEXT   NOT NULL DEFAULT '',
    message        TEXT   NOT NULL DEFAULT '',
    language       TEXT,
    region         TEXT,
    activity       TEXT   NOT NULL DEFAULT 'casual',
    war_focus      TEXT   NOT NULL DEFAULT 'casual',
    join_policy    TEXT   NOT NULL DEFAULT 'open',
    profanity      TEXT   NOT NULL DEFAULT 'medium',
    auto_kick_days BIGINT NOT NULL DEFAULT 0,
    xp             BIGINT NOT NULL DEFAULT 0,
    level          BIGINT NOT NULL DEFAULT 1,
    wins           BIGINT NOT NULL DEFAULT 0,
    losses         BIGINT NOT NULL DEFAULT 0,
    member_count   BIGINT NOT NULL DEFAULT 0,
    leader_id      TEXT   NOT NULL,
    leader_name    TEXT   NOT NULL,
    created_ms     BIGINT NOT NULL,
    -- Last activity of any member, for "sort by recent activity".
    active_ms      BIGINT NOT NULL,
    -- Bumped by every change: the first statement of a guild's write transaction, so that
    -- writes to one guild queue behind each other (a row lock on PostgreSQL, the write lock on
    -- SQLite) and every check inside sees the state it will change.
    version        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX guilds_browse ON guilds (member_count, level);

-- A user is in at most one guild: the user id is the key.
CREATE TABLE guild_members (
    user_id        TEXT   PRIMARY KEY,
    guild_id       BIGINT NOT NULL,
    user_name      TEXT   NOT NULL,
    role           TEXT   NOT NULL,
    joined_ms      BIGINT NOT NULL,
    points         BIGINT NOT NULL DEFAULT 0,
    active_ms      BIGINT NOT NULL,
    -- UTC day of the last login that earned guild XP (once per member per day).
    login_day      BIGINT NOT NULL DEFAULT 0,
    -- DNA collected while a member, so XP from DNA is exact across runs.
    dna_collected  BIGINT NOT NULL DEFAULT 0,
    donated_day    BIGINT NOT NULL DEFAULT 0,
    donated_amount BIGINT NOT NULL DEFAULT 0,
    protected      BIGINT NOT NULL DEFAULT 0,
    warned_ms      BIGINT,
    presence       TEXT   NOT NULL DEFAULT 'offline',
    presence_node  TEXT
);
CREATE INDEX guild_members_guild ON guild_members (guild_id, role);

-- Applications (kind 'apply') and invites (kind 'invite').
CREATE TABLE guild_requests (
    guild_id   BIGINT NOT NULL,
    user_id    TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    user_name  TEXT,
    note       TEXT,
    by_id      TEXT,
    by_name    TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id, kind)
);
CREATE INDEX guild_requests_user ON guild_requests (user_id, kind);

CREATE TABLE guild_transfers (
    guild_id     BIGINT PRIMARY KEY,
    from_id      TEXT   NOT NULL,
    from_name    TEXT   NOT NULL,
    to_id        TEXT   NOT NULL,
    to_name      TEXT   NOT NULL,
    effective_ms BIGINT NOT NULL
);

-- Balances per account ("user:<id>", "guild:<id>" for a vault) and currency. Only ledger
-- entries change them; the CHECK is the last line against a negative balance.
CREATE TABLE accounts (
    account  TEXT   NOT NULL,
    currency TEXT   NOT NULL,
    balance  BIGINT NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (account, currency)
);

-- Append-only: who, what, why and when of every balance change. `idem` makes an entry apply
-- once however often it is submitted.
CREATE TABLE ledger (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    account  TEXT   NOT NULL,
    currency TEXT   NOT NULL,
    delta    BIGINT NOT NULL,
    balance  BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    reason   TEXT,
    actor    TEXT,
    idem     TEXT   UNIQUE,
    ts_ms    BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account, id);

-- Scheduled jobs run on one node at a time: whoever holds the lease.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- Nodes heartbeat here; presence left behind by a node that stopped is cleared.
CREATE TABLE nodes (
    node_id TEXT   PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
