-- Receipts and invoices people can use (issue 16): the venue's legal identity printed on
-- them, a receipt number sequential per venue, invoices numbered without gaps per venue.

ALTER TABLE venues ADD COLUMN legal_name TEXT;
ALTER TABLE venues ADD COLUMN address TEXT;
ALTER TABLE venues ADD COLUMN vat_id TEXT;
-- The last receipt and invoice numbers the venue gave. Each is raised in the transaction that
-- gives the next number, so a number is only ever taken by a row that committed: no gaps.
ALTER TABLE venues ADD COLUMN receipt_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN invoice_seq BIGINT NOT NULL DEFAULT 0;

-- A paid payment's receipt number, given when its receipt is first issued (shown, e-mailed
-- or invoiced), so the pay flow never waits on the venue's counter. `body` is what the receipt
-- itemised then (lines, parts, tax per rate; JSON, in no language): a numbered receipt never
-- changes, whatever other guests pay or staff change on the bill later.
CREATE TABLE receipts (
    payment_id  TEXT PRIMARY KEY REFERENCES payments (id),
    venue_id    TEXT NOT NULL REFERENCES venues (id),
    number      BIGINT NOT NULL CHECK (number > 0),
    issued_at   TIMESTAMP NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (venue_id, number)
);

-- An invoice of one payment to one company. `body` is the invoice's lines, tax and total as
-- issued (JSON): asking again returns the same invoice, whatever happened to the bill since.
CREATE TABLE invoices (
    id            TEXT PRIMARY KEY,
    venue_id      TEXT NOT NULL REFERENCES venues (id),
    payment_id    TEXT NOT NULL UNIQUE REFERENCES payments (id),
    number        BIGINT NOT NULL CHECK (number > 0),
    company_name  TEXT NOT NULL,
    address       TEXT NOT NULL,
    vat_id        TEXT,
    body          TEXT NOT NULL,
    issued_at     TIMESTAMP NOT NULL,
    UNIQUE (venue_id, number)
);

-- Receipts to e-mail: the outbox of the mail worker. A row is sent at most once at a time
-- (leased by `lock_token` until `locked_until`) and retried on a schedule until the SMTP
-- server takes it (`sent`) or refuses it for good or too often (`failed`).
CREATE TABLE emails (
    id               TEXT PRIMARY KEY,
    venue_id         TEXT NOT NULL REFERENCES venues (id),
    payment_id       TEXT NOT NULL REFERENCES payments (id),
    recipient        TEXT NOT NULL,
    lang             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    lock_token       TEXT,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP,
    -- The request's Idempotency-Key: a retry of the request finds its e-mail, whatever became
    -- of the request's own idempotency record.
    request_key      TEXT,
    UNIQUE (payment_id, request_key)
);
CREATE INDEX emails_due ON emails (status, next_attempt_at);
