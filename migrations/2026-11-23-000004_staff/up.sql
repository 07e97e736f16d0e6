-- Empowered staff: adjustments, refunds, the audit log, and guests reaching a human.

CREATE TABLE adjustments (
    id              TEXT PRIMARY KEY,
    venue_id        TEXT NOT NULL REFERENCES venues (id),
    bill_id         TEXT NOT NULL REFERENCES bills (id),
    item_id         TEXT REFERENCES bill_items (id),
    kind            TEXT NOT NULL CHECK (kind IN ('comp', 'discount')),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    percent_bps     INTEGER,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('applied', 'pending_approval', 'rejected')),
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_by_role TEXT NOT NULL,
    approved_by_id  TEXT,
    approved_by_name TEXT,
    decided_at      TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX adjustments_bill ON adjustments (bill_id);

-- How an applied adjustment lowers each line (a bill-wide one is spread when applied).
CREATE TABLE adjustment_lines (
    adjustment_id TEXT NOT NULL REFERENCES adjustments (id),
    bill_id       TEXT NOT NULL REFERENCES bills (id),
    item_id       TEXT NOT NULL REFERENCES bill_items (id),
    amount        BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (adjustment_id, item_id)
);
CREATE INDEX adjustment_lines_bill ON adjustment_lines (bill_id);

CREATE TABLE refunds (
    id              TEXT PRIMARY KEY,
    venue_id        TEXT NOT NULL REFERENCES venues (id),
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    bill_id         TEXT NOT NULL REFERENCES bills (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'pending_approval', 'failed', 'rejected')),
    provider_ref    TEXT,
    failure_reason  TEXT,
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_by_role TEXT NOT NULL,
    approved_by_id  TEXT,
    approved_by_name TEXT,
    decided_at      TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_bill ON refunds (bill_id);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL REFERENCES venues (id),
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    bill_id     TEXT,
    subject_id  TEXT,
    amount      BIGINT,
    reason      TEXT,
    approved_by TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_log_venue ON audit_log (venue_id, id);

CREATE TABLE assistance_requests (
    id          TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL REFERENCES venues (id),
    table_id    TEXT NOT NULL REFERENCES dining_tables (id),
    bill_id     TEXT,
    reason      TEXT,
    status      TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    created_at  TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by TEXT
);
CREATE INDEX assistance_table ON assistance_requests (table_id, status);
CREATE INDEX assistance_venue ON assistance_requests (venue_id, status);

CREATE TABLE feedback (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    table_id   TEXT NOT NULL REFERENCES dining_tables (id),
    bill_id    TEXT,
    payment_id TEXT,
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT,
    flagged    BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_venue ON feedback (venue_id, created_at);
