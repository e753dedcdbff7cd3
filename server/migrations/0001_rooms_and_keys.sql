-- Rooms made through the REST API, the digests of the API keys, and the server's own
-- secrets. Portable SQL: the same file runs on SQLite and PostgreSQL. Times are Unix
-- seconds (BIGINT), flags are text, so both engines read them back alike.

CREATE TABLE rooms (
    name             TEXT PRIMARY KEY,
    privacy          TEXT NOT NULL,
    max_participants BIGINT,
    expires_at       BIGINT,
    created_at       BIGINT NOT NULL
);

-- SHA-256 of each key, hex: a copy of the database does not give anyone the keys.
CREATE TABLE api_keys (
    digest   TEXT PRIMARY KEY,
    added_at BIGINT NOT NULL
);

-- Made once, at first start, and shared by every node on the same database: the key
-- that signs meeting tokens, so tokens stay valid across restarts and nodes.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
