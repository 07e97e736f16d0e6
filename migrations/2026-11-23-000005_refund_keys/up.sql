-- A retried refund request finds the refund it started, whose outcome may be unknown.
ALTER TABLE refunds ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX refunds_idempotency_key ON refunds (payment_id, idempotency_key);
