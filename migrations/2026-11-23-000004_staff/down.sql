DROP TABLE feedback;
DROP TABLE assistance_requests;
DROP TABLE audit_log;
DROP TABLE refunds;
DROP TABLE adjustment_lines;
DROP TABLE adjustments;
