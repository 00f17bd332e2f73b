-- Wars and raids: every accepted run (idempotent by run id), the wars and the guilds
-- registered for them, raids, and the live scoreboards' snapshots.
--
-- The same statements run on SQLite and PostgreSQL (only the id columns differ).

-- One row per run id, whatever happened to it: a retry finds its first answer here. `war_id`
-- and `raid_id` are the contests it counts in (set when it was accepted: the user's guild at
-- that moment, a contest whose window holds the run's finish). A refused outlier is kept
-- (accepted = 0) so that its retry is refused the same way; every outlier carries its flag.
CREATE TABLE runs (
    run_id      TEXT   PRIMARY KEY,
    user_id     TEXT   NOT NULL,
    guild_id    BIGINT,
    dna         BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL,
    accepted_ms BIGINT NOT NULL,
    accepted    BIGINT NOT NULL,
    flag        TEXT,
    war_id      BIGINT,
    raid_id     BIGINT,
    -- The wallet credit of the run's DNA is applied (0 until then).
    credited    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_war ON runs (war_id, accepted_ms);
CREATE INDEX runs_raid ON runs (raid_id, accepted_ms);
CREATE INDEX runs_flagged ON runs (flag, accepted_ms);
CREATE INDEX runs_uncredited ON runs (credited, accepted_ms);

-- A war between two guilds, or a PvE war of one guild (guild_b NULL) against `benchmark`.
CREATE TABLE wars (
    id         BIGSERIAL PRIMARY KEY,
    guild_a    BIGINT NOT NULL,
    guild_b    BIGINT,
    benchmark  BIGINT,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    -- 'active' | 'ended'
    status     TEXT   NOT NULL,
    score_a    BIGINT,
    score_b    BIGINT,
    -- The winning guild; NULL for a draw or a PvE loss.
    winner     BIGINT,
    -- The final scoreboard and rewards, as the war room announced them.
    result     TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX wars_status ON wars (status, end_ms);

-- Who fights for each guild: every member when the war starts, and anyone whose run counted.
CREATE TABLE war_members (
    war_id   BIGINT NOT NULL,
    guild_id BIGINT NOT NULL,
    user_id  TEXT   NOT NULL,
    PRIMARY KEY (war_id, guild_id, user_id)
);

-- Guilds registered for the next war. `cycle` is the start instant the registration is for.
CREATE TABLE war_registrations (
    guild_id      BIGINT NOT NULL,
    cycle_ms      BIGINT NOT NULL,
    registered_ms BIGINT NOT NULL,
    registered_by TEXT   NOT NULL,
    war_id        BIGINT,
    PRIMARY KEY (guild_id, cycle_ms)
);

-- The weekly schedule's state: which cycle's registration is open, if any.
CREATE TABLE war_cycles (
    cycle_ms    BIGINT PRIMARY KEY,
    opened_ms   BIGINT NOT NULL,
    -- When matchmaking began for this cycle (NULL while registration is open).
    matching_ms BIGINT,
    closed_ms   BIGINT
);

-- Hidden war rating and streaks of each guild that has fought.
CREATE TABLE war_standings (
    guild_id    BIGINT PRIMARY KEY,
    elo         BIGINT NOT NULL,
    win_streak  BIGINT NOT NULL DEFAULT 0,
    loss_streak BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE raids (
    id          BIGSERIAL PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    hp          BIGINT NOT NULL,
    start_ms    BIGINT NOT NULL,
    end_ms      BIGINT NOT NULL,
    -- 'active' | 'ended'
    status      TEXT   NOT NULL,
    -- 'victory' | 'defeat' once ended
    outcome     TEXT,
    remaining   BIGINT,
    result      TEXT,
    started_by  TEXT   NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX raids_status ON raids (status, end_ms);

-- The latest snapshot of a contest's live state ('war:<id>', 'raid:<id>'): the runs it holds
-- and the position in the run log they reach. A restarted node starts from here and reads
-- the log after it.
CREATE TABLE live_snapshots (
    contest  TEXT   PRIMARY KEY,
    ep       TEXT   NOT NULL,
    off      BIGINT NOT NULL,
    runs     BIGINT NOT NULL,
    state    BYTEA  NOT NULL,
    saved_ms BIGINT NOT NULL
);
