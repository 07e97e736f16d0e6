DROP INDEX refunds_idempotency_key;
ALTER TABLE refunds DROP COLUMN idempotency_key;
