DROP TABLE emails;
DROP TABLE invoices;
DROP TABLE receipts;
ALTER TABLE venues DROP COLUMN invoice_seq;
ALTER TABLE venues DROP COLUMN receipt_seq;
ALTER TABLE venues DROP COLUMN vat_id;
ALTER TABLE venues DROP COLUMN address;
ALTER TABLE venues DROP COLUMN legal_name;
