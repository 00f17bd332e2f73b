-- Moderation: mutes and bans (per room, or '*' for the whole platform), room modes, the
-- penalty ladder, reports with their context, the audit log; and each user's own safety
-- tools: blocks, personal mutes, who may message them.

CREATE TABLE mod_mutes (
    scope      TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    -- NULL: permanent.
    until_ms   BIGINT,
    shadow     BIGINT NOT NULL DEFAULT 0,
    by_id      TEXT   NOT NULL,
    reason     TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, user_id)
);

CREATE TABLE mod_bans (
    scope      TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    until_ms   BIGINT,
    by_id      TEXT   NOT NULL,
    reason     TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, user_id)
);

CREATE TABLE room_modes (
    room         TEXT   PRIMARY KEY,
    slow_ms      BIGINT NOT NULL DEFAULT 0,
    members_only BIGINT NOT NULL DEFAULT 0,
    panic        BIGINT NOT NULL DEFAULT 0,
    updated_ms   BIGINT NOT NULL
);

CREATE TABLE penalties (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT   NOT NULL,
    step        BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    category    TEXT   NOT NULL,
    starts_ms   BIGINT NOT NULL,
    ends_ms     BIGINT,
    by_id       TEXT   NOT NULL,
    by_name     TEXT   NOT NULL,
    reason      TEXT,
    report_id   BIGINT,
    appeal      TEXT,
    -- The user's guild when penalised, for the guild's accountability counters.
    guild_id    BIGINT
);
CREATE INDEX penalties_user ON penalties (user_id, id);
CREATE INDEX penalties_guild ON penalties (guild_id, starts_ms);

CREATE TABLE reports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id   TEXT   NOT NULL,
    reporter_name TEXT   NOT NULL,
    user_id       TEXT   NOT NULL,
    room          TEXT,
    message_id    BIGINT,
    category      TEXT   NOT NULL,
    text          TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    -- 0 low .. 3 critical, so the queue sorts by it.
    priority      BIGINT NOT NULL,
    claimed_by    TEXT,
    resolution    TEXT,
    note          TEXT,
    -- The room's lines around the reported message, as JSON, kept even if they are deleted.
    context       TEXT   NOT NULL DEFAULT '[]',
    created_ms    BIGINT NOT NULL,
    resolved_ms   BIGINT
);
CREATE INDEX reports_queue ON reports (status, priority, id);
CREATE INDEX reports_user ON reports (user_id, status);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   TEXT   NOT NULL,
    actor_name TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT,
    room       TEXT,
    reason     TEXT,
    details    TEXT,
    ts_ms      BIGINT NOT NULL
);
CREATE INDEX audit_target ON audit_log (target, id);
CREATE INDEX audit_room ON audit_log (room, id);

CREATE TABLE blocks (
    user_id    TEXT   NOT NULL,
    blocked_id TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- target: 'user:<id>' or 'room:<name>'.
CREATE TABLE personal_mutes (
    user_id TEXT NOT NULL,
    target  TEXT NOT NULL,
    PRIMARY KEY (user_id, target)
);

CREATE TABLE user_settings (
    user_id TEXT PRIMARY KEY,
    dm      TEXT NOT NULL DEFAULT 'anyone'
);

-- Deleted messages stay for reports and audits; history no longer shows them.
ALTER TABLE chat_messages ADD COLUMN deleted_ms BIGINT;
