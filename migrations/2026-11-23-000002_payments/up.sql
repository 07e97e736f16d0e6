-- Payments with their holds, the item parts they take, and the provider events applied.

ALTER TABLE bills ADD COLUMN equal_parts INTEGER;

CREATE TABLE payments (
    id                  TEXT PRIMARY KEY,
    venue_id            TEXT NOT NULL REFERENCES venues (id),
    bill_id             TEXT NOT NULL REFERENCES bills (id),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled', 'expired',
                                                        'partially_refunded', 'refunded')),
    split_type          TEXT NOT NULL CHECK (split_type IN ('remaining', 'equal', 'items', 'amount')),
    amount              BIGINT NOT NULL CHECK (amount >= 0),
    tip_amount          BIGINT NOT NULL CHECK (tip_amount >= 0),
    refunded_amount     BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    currency            TEXT NOT NULL,
    provider            TEXT NOT NULL,
    provider_ref        TEXT UNIQUE,
    client_secret       TEXT,
    failure_code        TEXT,
    email               TEXT,
    equal_parts         INTEGER,
    equal_count         INTEGER,
    server_id           TEXT REFERENCES staff (id),
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    expires_at          TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    succeeded_at        TIMESTAMP
);
CREATE INDEX payments_bill ON payments (bill_id, created_at);
CREATE INDEX payments_pending ON payments (status, expires_at);
-- A guest's retry with the same key finds the payment it created, even after a provider timeout.
CREATE UNIQUE INDEX payments_idempotency_key ON payments (bill_id, idempotency_key);

CREATE TABLE payment_items (
    payment_id   TEXT NOT NULL REFERENCES payments (id),
    item_id      TEXT NOT NULL REFERENCES bill_items (id),
    bill_id      TEXT NOT NULL REFERENCES bills (id),
    fraction_num BIGINT NOT NULL CHECK (fraction_num > 0),
    fraction_den BIGINT NOT NULL CHECK (fraction_den >= fraction_num),
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (payment_id, item_id)
);
CREATE INDEX payment_items_bill ON payment_items (bill_id);

-- Provider events already applied: a replayed webhook changes nothing twice.
CREATE TABLE provider_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payment_id  TEXT,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, event_id)
);
