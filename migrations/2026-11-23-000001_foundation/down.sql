DROP TABLE idempotency_keys;
DROP TABLE bill_items;
DROP TABLE bills;
DROP TABLE dining_tables;
DROP TABLE api_keys;
DROP TABLE staff;
DROP TABLE venues;
