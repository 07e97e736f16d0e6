//! Stripe, through async-stripe: PaymentIntents for share + tip, cancel, refunds, and
//! webhook verification.
//!
//! Every request carries an idempotency key derived from our own ids, so a retry after a
//! timeout finds the same PaymentIntent instead of charging twice. Webhook signatures are
//! verified here rather than by async-stripe, whose parser keeps only the last `v1` value of
//! a `Stripe-Signature` header (Stripe sends several while a secret is being rolled).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
};
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;

use crate::{
    BoxFuture, ChargeRules, CreatePayment, NextAction, PaymentProvider, ProviderError, ProviderEvent, ProviderPayment,
    ProviderRefund, RefundRequest, WebhookError,
};

/// Stripe rejects signatures older (or newer) than this.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// Keys and endpoint (`TABLEPAY_STRIPE_*`).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
    /// Overrides `https://api.stripe.com/` (tests point it at a local fake).
    pub base_url: Option<String>,
    /// Per-request timeout; past it the outcome is unknown and the caller retries with the
    /// same idempotency key.
    pub timeout: Duration,
}

pub struct StripeProvider {
    client: Client,
    config: StripeConfig,
}

impl std::fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeProvider").field("base_url", &self.config.base_url).finish_non_exhaustive()
    }
}

impl StripeProvider {
    pub fn new(config: StripeConfig) -> Result<StripeProvider, String> {
        let mut builder = ClientBuilder::new(config.secret_key.clone()).timeout(config.timeout);
        if let Some(url) = &config.base_url {
            builder = builder.url(url.clone());
        }
        let client = builder.build().map_err(|e| format!("Stripe client: {e}"))?;
        Ok(StripeProvider { client, config })
    }
}

/// Currencies Stripe charges without decimals although ISO 4217 gives them some.
const STRIPE_ZERO_DECIMAL_OVER_ISO: &[&str] = &["MGA"];
/// Currencies Stripe wants in hundredths although ISO 4217 gives them none (whole units only).
const STRIPE_TWO_DECIMAL_OVER_ISO: &[&str] = &["ISK"];

/// Our amount (ISO minor units) in Stripe's unit for the currency.
pub fn to_stripe_amount(currency: &str, amount: i64) -> Option<i64> {
    if STRIPE_ZERO_DECIMAL_OVER_ISO.contains(&currency) {
        (amount % 100 == 0).then_some(amount / 100)
    } else if STRIPE_TWO_DECIMAL_OVER_ISO.contains(&currency) {
        amount.checked_mul(100)
    } else {
        Some(amount)
    }
}

/// Stripe's amount back in ISO minor units.
pub fn from_stripe_amount(currency: &str, amount: i64) -> i64 {
    if STRIPE_ZERO_DECIMAL_OVER_ISO.contains(&currency) {
        amount.saturating_mul(100)
    } else if STRIPE_TWO_DECIMAL_OVER_ISO.contains(&currency) {
        amount / 100
    } else {
        amount
    }
}

/// Stripe's minimum charge, in ISO minor units, for the currencies it lists; elsewhere the
/// equivalent of about 0.50 USD is assumed.
fn minimum_charge(currency: &str, exponent: u8) -> i64 {
    let listed = match currency {
        "USD" | "AUD" | "BRL" | "CAD" | "CHF" | "EUR" | "INR" | "NZD" | "SGD" => Some(50),
        "GBP" => Some(30),
        "AED" | "MYR" | "PLN" | "RON" => Some(200),
        "BGN" => Some(100),
        "CZK" => Some(1500),
        "DKK" => Some(250),
        "HKD" => Some(400),
        "HUF" => Some(17500),
        "JPY" => Some(50),
        "MXN" | "THB" => Some(1000),
        "NOK" | "SEK" => Some(300),
        _ => None,
    };
    listed.unwrap_or(match exponent {
        0 => 100,
        3 => 200,
        _ => 100,
    })
}

fn classify(err: StripeError) -> ProviderError {
    match err {
        StripeError::Stripe(errors, status) if (400..500).contains(&status) && status != 429 => {
            ProviderError::Rejected(errors.message.clone().unwrap_or_else(|| format!("HTTP {status}")))
        }
        other => ProviderError::Unavailable(other.to_string()),
    }
}

fn key(value: &str) -> Result<RequestStrategy, ProviderError> {
    IdempotencyKey::new(value)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| ProviderError::Rejected(format!("idempotency key: {e:?}")))
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn create_payment(&self, req: CreatePayment) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        Box::pin(async move {
            let amount = to_stripe_amount(&req.currency, req.amount).ok_or_else(|| {
                ProviderError::Rejected(format!("{} cannot be charged in {}", req.amount, req.currency))
            })?;
            let currency: Currency = req.currency.to_ascii_lowercase().parse().unwrap_or_default();
            let metadata = HashMap::from([
                ("tablepay_venue_id".to_owned(), req.venue_id.clone()),
                ("tablepay_bill_id".to_owned(), req.bill_id.clone()),
                ("tablepay_payment_id".to_owned(), req.payment_id.clone()),
            ]);
            let intent = CreatePaymentIntent::new(amount, currency)
                .metadata(metadata)
                .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
                .customize()
                .request_strategy(key(&req.idempotency_key)?)
                .send(&self.client)
                .await
                .map_err(classify)?;
            Ok(ProviderPayment { provider_ref: intent.id.as_str().to_owned(), client_secret: intent.client_secret })
        })
    }

    fn cancel_payment<'a>(&'a self, provider_ref: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            CancelPaymentIntent::new(provider_ref)
                .customize()
                .request_strategy(key(&format!("tablepay-cancel-{provider_ref}"))?)
                .send(&self.client)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }

    fn refund(&self, req: RefundRequest) -> BoxFuture<'_, Result<ProviderRefund, ProviderError>> {
        Box::pin(async move {
            let amount = to_stripe_amount(&req.currency, req.amount).ok_or_else(|| {
                ProviderError::Rejected(format!("{} cannot be refunded in {}", req.amount, req.currency))
            })?;
            let refund = CreateRefund::new()
                .payment_intent(req.provider_ref.clone())
                .amount(amount)
                .customize()
                .request_strategy(key(&req.idempotency_key)?)
                .send(&self.client)
                .await
                .map_err(classify)?;
            Ok(ProviderRefund { refund_ref: refund.id.as_str().to_owned() })
        })
    }

    fn parse_webhook(&self, headers: &[(String, String)], body: &[u8]) -> Result<ProviderEvent, WebhookError> {
        let header = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("stripe-signature"))
            .map(|(_, value)| value.as_str())
            .ok_or(WebhookError::MissingSignature)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        verify_signature(header, body, &self.config.webhook_secret, now)?;
        parse_event(body)
    }

    fn charge_rules(&self, currency: &str, exponent: u8) -> ChargeRules {
        let granularity = match (currency, exponent) {
            (c, _) if STRIPE_ZERO_DECIMAL_OVER_ISO.contains(&c) => 100,
            // Three-decimal currencies are charged in multiples of 10 (the last digit is 0).
            (_, 3) => 10,
            _ => 1,
        };
        ChargeRules { granularity, minimum: minimum_charge(currency, exponent) }
    }

    fn next_action(&self, _payment_id: &str, payment: &ProviderPayment) -> NextAction {
        NextAction::StripeConfirm {
            client_secret: payment.client_secret.clone().unwrap_or_default(),
            publishable_key: self.config.publishable_key.clone(),
        }
    }
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): any `v1` may be the valid one,
/// compared in constant time, and the timestamp must be within [`SIGNATURE_TOLERANCE`].
pub fn verify_signature(header: &str, body: &[u8], secret: &str, now: i64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => candidates.push(sig),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MissingSignature)?;
    if candidates.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    if (now - timestamp).unsigned_abs() > SIGNATURE_TOLERANCE.as_secs() {
        return Err(WebhookError::StaleTimestamp);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| WebhookError::BadSignature)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let matches = candidates.iter().filter_map(|hex| decode_hex(hex)).fold(false, |found, candidate| {
        // Every candidate is compared, in constant time each, whatever matched before.
        found | constant_time_eq(&candidate, &expected)
    });
    if matches { Ok(()) } else { Err(WebhookError::BadSignature) }
}

/// Signs a payload as Stripe does; for tests and local tools.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_event(body: &[u8]) -> Result<ProviderEvent, WebhookError> {
    let event: Value = serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let event_id = text(&event["id"]).ok_or_else(|| WebhookError::BadPayload("event without id".into()))?;
    let kind = text(&event["type"]).ok_or_else(|| WebhookError::BadPayload("event without type".into()))?;
    let object = &event["data"]["object"];
    let missing = || WebhookError::BadPayload(format!("{kind} without its object id"));
    Ok(match kind.as_str() {
        "payment_intent.succeeded" => {
            ProviderEvent::PaymentSucceeded { event_id, provider_ref: text(&object["id"]).ok_or_else(missing)? }
        }
        "payment_intent.payment_failed" => {
            let error = &object["last_payment_error"];
            let code = text(&error["decline_code"])
                .or_else(|| text(&error["code"]))
                .unwrap_or_else(|| "payment_failed".into());
            // A failed PaymentIntent stays open for another card until it succeeds, is
            // cancelled or expires.
            ProviderEvent::PaymentFailed {
                event_id,
                provider_ref: text(&object["id"]).ok_or_else(missing)?,
                code,
                retryable: true,
            }
        }
        "payment_intent.canceled" => {
            ProviderEvent::PaymentCanceled { event_id, provider_ref: text(&object["id"]).ok_or_else(missing)? }
        }
        "charge.refunded" => {
            let currency = text(&object["currency"]).unwrap_or_default().to_ascii_uppercase();
            ProviderEvent::Refunded {
                event_id,
                provider_ref: text(&object["payment_intent"]).ok_or_else(missing)?,
                amount_refunded: from_stripe_amount(&currency, object["amount_refunded"].as_i64().unwrap_or(0)),
            }
        }
        _ => ProviderEvent::Ignored { event_id, kind },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn accepts_the_valid_v1_in_any_position() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#;
        let good = sign(body, SECRET, 1_000);
        let bad = sign(body, "whsec_other", 1_000);
        for header in [
            format!("t=1000,v1={good},v1={bad}"),
            format!("t=1000,v1={bad},v1={good}"),
            format!("t=1000,v0=abc,v1={good}"),
        ] {
            assert_eq!(verify_signature(&header, body, SECRET, 1_100), Ok(()), "{header}");
        }
        assert_eq!(verify_signature(&format!("t=1000,v1={bad}"), body, SECRET, 1_000), Err(WebhookError::BadSignature));
        assert_eq!(
            verify_signature(&format!("t=1000,v1={good}"), b"{}", SECRET, 1_000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(&format!("t=1000,v1={good}"), body, SECRET, 1_301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(verify_signature("v1=00", body, SECRET, 1_000), Err(WebhookError::MissingSignature));
        assert_eq!(
            parse_event(body),
            Ok(ProviderEvent::PaymentSucceeded { event_id: "evt_1".into(), provider_ref: "pi_1".into() })
        );
    }

    #[test]
    fn amounts_follow_stripe_units() {
        assert_eq!(to_stripe_amount("EUR", 1234), Some(1234));
        assert_eq!(to_stripe_amount("ISK", 1500), Some(150_000));
        assert_eq!(to_stripe_amount("MGA", 150_000), Some(1500));
        assert_eq!(to_stripe_amount("MGA", 150_050), None);
        assert_eq!(from_stripe_amount("ISK", 150_000), 1500);
    }

    #[test]
    fn events_translate() {
        let failed = br#"{"id":"evt_2","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_2","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds"}}}}"#;
        assert_eq!(
            parse_event(failed),
            Ok(ProviderEvent::PaymentFailed {
                event_id: "evt_2".into(),
                provider_ref: "pi_2".into(),
                code: "insufficient_funds".into(),
                retryable: true,
            })
        );
        let other = br#"{"id":"evt_3","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#;
        assert_eq!(
            parse_event(other),
            Ok(ProviderEvent::Ignored { event_id: "evt_3".into(), kind: "customer.created".into() })
        );
        assert!(matches!(parse_event(b"not json"), Err(WebhookError::BadPayload(_))));
    }
}

#[cfg(test)]
mod adapter_tests {
    //! The adapter against a local fake of Stripe's HTTP API.

    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn provider(server: &MockServer) -> StripeProvider {
        StripeProvider::new(StripeConfig {
            secret_key: "sk_test_123".into(),
            publishable_key: "pk_test_123".into(),
            webhook_secret: "whsec_test".into(),
            base_url: Some(server.uri()),
            timeout: Duration::from_secs(5),
        })
        .expect("client builds")
    }

    fn intent(id: &str, amount: i64, status: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0, "amount_received": 0,
            "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000,
            "currency": "kwd", "livemode": false, "metadata": {}, "payment_method_types": ["card"],
            "status": status, "client_secret": format!("{id}_secret_abc")
        })
    }

    #[tokio::test]
    async fn create_sends_amount_currency_metadata_and_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .and(header("idempotency-key", "tablepay-payment-p1"))
            .and(header("authorization", "Bearer sk_test_123"))
            .and(body_string_contains("amount=33340"))
            .and(body_string_contains("currency=kwd"))
            .and(body_string_contains("metadata[tablepay_payment_id]=p1"))
            .and(body_string_contains("metadata[tablepay_bill_id]=b1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(intent("pi_1", 33_340, "requires_payment_method")))
            .expect(1)
            .mount(&server)
            .await;
        let created = provider(&server)
            .create_payment(CreatePayment {
                payment_id: "p1".into(),
                venue_id: "v1".into(),
                bill_id: "b1".into(),
                amount: 33_340,
                currency: "KWD".into(),
                idempotency_key: "tablepay-payment-p1".into(),
            })
            .await
            .expect("created");
        assert_eq!(created.provider_ref, "pi_1");
        assert_eq!(created.client_secret.as_deref(), Some("pi_1_secret_abc"));
    }

    #[tokio::test]
    async fn cancel_and_refund_carry_idempotency_keys() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents/pi_1/cancel"))
            .and(header("idempotency-key", "tablepay-cancel-pi_1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(intent("pi_1", 1000, "canceled")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/refunds"))
            .and(header("idempotency-key", "tablepay-refund-r1"))
            .and(body_string_contains("payment_intent=pi_2"))
            .and(body_string_contains("amount=450"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "re_1", "object": "refund", "amount": 450, "created": 1_700_000_000, "currency": "eur",
                "status": "succeeded", "payment_intent": "pi_2"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let stripe = provider(&server);
        stripe.cancel_payment("pi_1").await.expect("cancelled");
        let refund = stripe
            .refund(RefundRequest {
                provider_ref: "pi_2".into(),
                amount: 450,
                currency: "EUR".into(),
                idempotency_key: "tablepay-refund-r1".into(),
            })
            .await
            .expect("refunded");
        assert_eq!(refund.refund_ref, "re_1");
    }

    #[tokio::test]
    async fn errors_are_classified() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": {"type": "invalid_request_error", "message": "Amount must be at least 50 cents"}
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents/pi_9/cancel"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let stripe = provider(&server);
        let req = CreatePayment {
            payment_id: "p2".into(),
            venue_id: "v".into(),
            bill_id: "b".into(),
            amount: 10,
            currency: "EUR".into(),
            idempotency_key: "k".into(),
        };
        assert!(
            matches!(stripe.create_payment(req).await, Err(ProviderError::Rejected(m)) if m.contains("at least 50"))
        );
        assert!(matches!(stripe.cancel_payment("pi_9").await, Err(ProviderError::Unavailable(_))));
    }

    #[test]
    fn charge_rules_per_currency() {
        let server_less = StripeProvider::new(StripeConfig {
            secret_key: "sk".into(),
            publishable_key: "pk".into(),
            webhook_secret: "wh".into(),
            base_url: None,
            timeout: Duration::from_secs(1),
        })
        .expect("builds");
        assert_eq!(server_less.charge_rules("KWD", 3), ChargeRules { granularity: 10, minimum: 200 });
        assert_eq!(server_less.charge_rules("EUR", 2), ChargeRules { granularity: 1, minimum: 50 });
        assert_eq!(server_less.charge_rules("JPY", 0), ChargeRules { granularity: 1, minimum: 50 });
        assert_eq!(server_less.charge_rules("MGA", 2).granularity, 100);
    }
}
