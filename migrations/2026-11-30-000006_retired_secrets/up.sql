-- Every secret an endpoint rotated away, with when it stops signing. Deliveries are signed
-- with the current secret and every one still here and unexpired, so a second rotation
-- inside the overlap does not cut off receivers that still verify with the first secret.
CREATE TABLE webhook_retired_secrets (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    secret TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (endpoint_id, secret)
);
INSERT INTO webhook_retired_secrets (endpoint_id, secret, expires_at)
SELECT id, previous_secret, previous_secret_expires_at
FROM webhook_endpoints
WHERE previous_secret IS NOT NULL AND previous_secret_expires_at IS NOT NULL;
