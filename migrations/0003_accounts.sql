-- depends: 0002_worker_status
-- Sign-in state kept beside the customer documents, in Postgres directly and
-- never through the outbox: sessions and their rotating refresh tokens, and the
-- windowed counters of throttles and lockouts. None of it is a customer change:
-- it neither bumps a customer's version nor publishes an event. Every row
-- expires: the worker deletes what is past (accounts/janitor.py).

-- One session per login; every access token names it (claim "sid").
CREATE TABLE customer_sessions (
    id            uuid PRIMARY KEY,
    customer_id   uuid NOT NULL,
    -- The customer's session epoch at login: a change that ends every session
    -- moves the document's epoch on, and a session of an older one is over.
    epoch         integer NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    user_agent    varchar(256),
    -- The newest refresh token's expiry: each refresh moves it on.
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    ended_reason  varchar(64)
);

CREATE INDEX idx_sessions_customer_live ON customer_sessions (customer_id) WHERE ended_at IS NULL;
CREATE INDEX idx_sessions_ended ON customer_sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX idx_sessions_expires ON customer_sessions (expires_at);

-- Refresh tokens, by the SHA-256 of the token: single use, each refresh
-- replaces the one it used (rotated_at), and a replaced one used again after
-- the grace ends its whole session.
CREATE TABLE refresh_tokens (
    digest      char(64) PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES customer_sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);

CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens (expires_at);

-- Windowed counters: rate limits per client address and per account, sign-in
-- failures (lockouts) and deliveries per email. Keys are hashes, never an
-- address or an email in clear. A row is over when resets_at has passed.
CREATE TABLE throttles (
    key        text PRIMARY KEY,
    hits       integer NOT NULL,
    resets_at  timestamptz NOT NULL
);

CREATE INDEX idx_throttles_resets ON throttles (resets_at);
