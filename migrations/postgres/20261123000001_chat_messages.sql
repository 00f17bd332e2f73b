-- Chat messages of every room, in the order the store accepted them. Same shape as the SQLite
-- schema so both backends answer history identically.
--
-- BIGSERIAL (not GENERATED ALWAYS) because insert_chat_batch draws a whole batch of ids from the
-- sequence first and writes them explicitly, so that ids follow the batch's input order
-- whatever order the executor happens to insert rows in.
CREATE TABLE chat_messages (
    id        BIGSERIAL PRIMARY KEY,
    room      TEXT      NOT NULL,
    user_id   TEXT      NOT NULL,
    user_name TEXT      NOT NULL,
    text      TEXT      NOT NULL,
    ts_ms     BIGINT    NOT NULL
);

-- History pages walk a room backwards by id.
CREATE INDEX chat_messages_room_id ON chat_messages (room, id);
