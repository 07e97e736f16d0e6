-- The outbox: events written in the transaction that caused them, one delivery per
-- subscribed endpoint, and every attempt.

-- Events of a venue are numbered under the venue's row lock, so their order is their commit
-- order: a live feed resuming after event N never misses one committed later with a lower number.
ALTER TABLE venues ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    seq        BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (venue_id, seq)
);

CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY,
    venue_id                   TEXT NOT NULL REFERENCES venues (id),
    url                        TEXT NOT NULL,
    event_types                TEXT NOT NULL,
    enabled                    BOOLEAN NOT NULL,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at TIMESTAMP,
    disabled_reason            TEXT,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL,
    deleted_at                 TIMESTAMP
);
CREATE INDEX webhook_endpoints_venue ON webhook_endpoints (venue_id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    venue_id         TEXT NOT NULL REFERENCES venues (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    lock_token       TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_venue ON webhook_deliveries (venue_id, created_at);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt          INTEGER NOT NULL,
    started_at       TIMESTAMP NOT NULL,
    status_code      INTEGER,
    latency_ms       BIGINT NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
