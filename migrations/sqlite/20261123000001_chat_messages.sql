-- Chat messages of every room, in the order the store accepted them.
CREATE TABLE chat_messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    room      TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    user_name TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    ts_ms     INTEGER NOT NULL
);

-- History pages walk a room backwards by id.
CREATE INDEX chat_messages_room_id ON chat_messages (room, id);
