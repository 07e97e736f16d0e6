-- The bill as it really is (issue 14): equal splits that can start over, the version of the
-- bill's content for the stale-bill check, tenders, and refunds that keep the ledger true.

-- The version at which the bill's content (items, prices, adjustments) last changed: a guest
-- payment naming an older `bill_version` is refused with `bill_changed`. Other guests'
-- payments bump `version` only.
ALTER TABLE bills ADD COLUMN content_version BIGINT NOT NULL DEFAULT 1;
-- An equal split starts over (another number of parts) as a new round: only the shares of
-- the bill's current round count.
ALTER TABLE bills ADD COLUMN split_round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN split_round INTEGER NOT NULL DEFAULT 0;
-- A bill merged into another: everything on it now belongs to `merged_into`. Its status is
-- stored as 'void' (the status CHECK predates merging and cannot be altered portably) and read
-- back as `merged` wherever `merged_into` is set.
ALTER TABLE bills ADD COLUMN merged_into TEXT REFERENCES bills (id);
-- Whether a refund also took its amount off the bill (the default), or made it payable again.
ALTER TABLE refunds ADD COLUMN adjust_bill BOOLEAN NOT NULL DEFAULT TRUE;

-- Adjustments gain the kind `refund` (a refund taken off the bill) and the refund it records.
-- A CHECK cannot be altered portably, so the table is rebuilt, with the lines that refer to it.
CREATE TABLE adjustments_v2 (
    id              TEXT PRIMARY KEY,
    venue_id        TEXT NOT NULL REFERENCES venues (id),
    bill_id         TEXT NOT NULL REFERENCES bills (id),
    item_id         TEXT REFERENCES bill_items (id),
    kind            TEXT NOT NULL CHECK (kind IN ('comp', 'discount', 'refund')),
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
    created_at      TIMESTAMP NOT NULL,
    refund_id       TEXT REFERENCES refunds (id)
);
INSERT INTO adjustments_v2 (id, venue_id, bill_id, item_id, kind, amount, percent_bps, reason, status,
                            created_by_id, created_by_name, created_by_role, approved_by_id, approved_by_name,
                            decided_at, created_at)
SELECT id, venue_id, bill_id, item_id, kind, amount, percent_bps, reason, status,
       created_by_id, created_by_name, created_by_role, approved_by_id, approved_by_name, decided_at, created_at
FROM adjustments;
CREATE TABLE adjustment_lines_v2 (
    adjustment_id TEXT NOT NULL REFERENCES adjustments_v2 (id),
    bill_id       TEXT NOT NULL REFERENCES bills (id),
    item_id       TEXT NOT NULL REFERENCES bill_items (id),
    amount        BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (adjustment_id, item_id)
);
INSERT INTO adjustment_lines_v2 (adjustment_id, bill_id, item_id, amount)
SELECT adjustment_id, bill_id, item_id, amount FROM adjustment_lines;
DROP TABLE adjustment_lines;
DROP TABLE adjustments;
ALTER TABLE adjustments_v2 RENAME TO adjustments;
ALTER TABLE adjustment_lines_v2 RENAME TO adjustment_lines;
CREATE INDEX adjustments_bill ON adjustments (bill_id);
CREATE INDEX adjustment_lines_bill ON adjustment_lines (bill_id);

-- Refunds made before this migration lowered nothing: now that `paid` is net of refunds, each
-- payment's refunded bill part is taken off its bill, as a refund made now would be by default,
-- so no bill owes refunded money again and a settled bill stays exactly paid. One adjustment
-- per payment, with the payment's id (a UUID of its own table).
INSERT INTO adjustments (id, venue_id, bill_id, item_id, kind, amount, percent_bps, reason, status,
                         created_by_id, created_by_name, created_by_role, approved_by_id, approved_by_name,
                         decided_at, created_at, refund_id)
SELECT id, venue_id, bill_id, NULL, 'refund',
       CASE WHEN refunded_amount < amount THEN refunded_amount ELSE amount END,
       NULL, 'refunded before refunds were taken off bills', 'applied',
       'tablepay', 'tablepay', 'pos', NULL, NULL, updated_at, updated_at, NULL
FROM payments
WHERE refunded_amount > 0 AND amount > 0 AND status IN ('succeeded', 'partially_refunded', 'refunded');

-- Money taken outside tablepay and recorded on a bill: cash, the venue's own card terminal, a
-- voucher. A recorded tender counts toward `paid`; a void one counts nothing.
CREATE TABLE tenders (
    id               TEXT PRIMARY KEY,
    venue_id         TEXT NOT NULL REFERENCES venues (id),
    bill_id          TEXT NOT NULL REFERENCES bills (id),
    kind             TEXT NOT NULL CHECK (kind IN ('cash', 'card_present', 'voucher', 'other')),
    amount           BIGINT NOT NULL CHECK (amount >= 0),
    tip_amount       BIGINT NOT NULL CHECK (tip_amount >= 0),
    reference        TEXT,
    note             TEXT,
    status           TEXT NOT NULL CHECK (status IN ('recorded', 'void')),
    recorded_by_id   TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_by_role TEXT NOT NULL,
    void_reason      TEXT,
    voided_by_name   TEXT,
    created_at       TIMESTAMP NOT NULL,
    voided_at        TIMESTAMP
);
CREATE INDEX tenders_bill ON tenders (bill_id);
CREATE INDEX tenders_venue ON tenders (venue_id, created_at);
