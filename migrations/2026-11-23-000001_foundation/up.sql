-- Venues, their credentials, tables, bills and idempotency records.
-- Ids are UUID strings, money is BIGINT minor units, times are UTC (TIMESTAMP without zone).

CREATE TABLE venues (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    currency            TEXT NOT NULL,
    tax_mode            TEXT NOT NULL CHECK (tax_mode IN ('inclusive', 'exclusive')),
    tax_rate_bps        INTEGER NOT NULL CHECK (tax_rate_bps >= 0),
    service_charge_bps  INTEGER NOT NULL CHECK (service_charge_bps >= 0),
    tip_presets_bps     TEXT NOT NULL,
    timezone            TEXT NOT NULL,
    payment_provider    TEXT NOT NULL,
    server_comp_limit   BIGINT NOT NULL CHECK (server_comp_limit >= 0),
    server_refund_limit BIGINT NOT NULL CHECK (server_refund_limit >= 0),
    created_at          TIMESTAMP NOT NULL
);

CREATE TABLE staff (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('server', 'manager')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_venue ON staff (venue_id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    staff_id   TEXT REFERENCES staff (id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('pos', 'server', 'manager')),
    key_hash   TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_venue ON api_keys (venue_id);

CREATE TABLE dining_tables (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    label      TEXT NOT NULL,
    qr_token   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (venue_id, label)
);

CREATE TABLE bills (
    id           TEXT PRIMARY KEY,
    venue_id     TEXT NOT NULL REFERENCES venues (id),
    table_id     TEXT NOT NULL REFERENCES dining_tables (id),
    external_ref TEXT,
    server_id    TEXT REFERENCES staff (id),
    status       TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed', 'void')),
    version      BIGINT NOT NULL,
    close_reason TEXT,
    opened_at    TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    paid_at      TIMESTAMP,
    closed_at    TIMESTAMP
);
-- The database itself keeps "at most one open bill per table", whatever the concurrency.
CREATE UNIQUE INDEX bills_one_open_per_table ON bills (table_id) WHERE status = 'open';
CREATE UNIQUE INDEX bills_open_external_ref ON bills (venue_id, external_ref) WHERE status = 'open';
CREATE INDEX bills_table ON bills (table_id, opened_at);
CREATE INDEX bills_venue_ref ON bills (venue_id, external_ref);

CREATE TABLE bill_items (
    id           TEXT PRIMARY KEY,
    bill_id      TEXT NOT NULL REFERENCES bills (id),
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity >= 1),
    unit_price   BIGINT NOT NULL CHECK (unit_price >= 0),
    tax_rate_bps INTEGER CHECK (tax_rate_bps >= 0),
    external_ref TEXT,
    status       TEXT NOT NULL CHECK (status IN ('active', 'void')),
    created_at   TIMESTAMP NOT NULL,
    voided_at    TIMESTAMP
);
CREATE INDEX bill_items_bill ON bill_items (bill_id, position);

CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('in_flight', 'complete')),
    response_status INTEGER,
    response_body   TEXT,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
