-- Spectator streams: a player's live run or game, its feed events (for nodes that start
-- watching late, and for replays), its cheer totals; and broadcasts, whose boards are streams.
--
-- The same statements run on SQLite and PostgreSQL (only the id columns differ).

CREATE TABLE streams (
    id           BIGSERIAL PRIMARY KEY,
    owner        TEXT   NOT NULL,
    -- The owner's guild when the stream opened: who counts as a guild-mate.
    guild_id     BIGINT,
    game         TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    -- 'public' | 'unlisted' | 'guild'
    visibility   TEXT   NOT NULL,
    delay_ms     BIGINT NOT NULL,
    guild_live   BIGINT NOT NULL,
    run_id       TEXT,
    broadcast_id BIGINT,
    board        BIGINT,
    -- 'live' | 'ended'
    status       TEXT   NOT NULL,
    started_ms   BIGINT NOT NULL,
    ended_ms     BIGINT,
    -- Spectators across the cluster, as the nodes watching it last counted them.
    viewers      BIGINT NOT NULL DEFAULT 0,
    peak         BIGINT NOT NULL DEFAULT 0,
    -- Until when the replay is kept; NULL while live or when it is not kept.
    keep_until   BIGINT,
    -- 1 once its events are gone: no replay.
    purged       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX streams_status ON streams (status, viewers);
CREATE INDEX streams_broadcast ON streams (broadcast_id, board);
-- One live stream per board of a broadcast, whichever node opens it.
CREATE UNIQUE INDEX streams_live_board ON streams (broadcast_id, board) WHERE status = 'live';
CREATE INDEX streams_run ON streams (run_id);

-- Every event of a stream's feed, by its place in the room's log.
CREATE TABLE stream_events (
    stream_id BIGINT NOT NULL,
    ep        TEXT   NOT NULL,
    off       BIGINT NOT NULL,
    ts_ms     BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    d         TEXT   NOT NULL,
    PRIMARY KEY (stream_id, ep, off)
);

-- Cheers so far, by emoji: each node adds what it took since its last tick.
CREATE TABLE stream_cheers (
    stream_id BIGINT NOT NULL,
    emoji     TEXT   NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (stream_id, emoji)
);

CREATE TABLE broadcasts (
    id          BIGSERIAL PRIMARY KEY,
    owner       TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    description TEXT   NOT NULL,
    -- 'live' | 'ended'
    status      TEXT   NOT NULL,
    started_ms  BIGINT NOT NULL,
    ended_ms    BIGINT,
    -- The most spectators its live boards had at once.
    peak        BIGINT NOT NULL DEFAULT 0
);
