DROP TABLE provider_events;
DROP TABLE payment_items;
DROP TABLE payments;
ALTER TABLE bills DROP COLUMN equal_parts;
