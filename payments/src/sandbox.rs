//! The built-in provider: no network, deterministic outcomes by test card number. It is what
//! `cargo run` uses and what the black-box suite pays with.

use crate::{
    BoxFuture, ChargeRules, CreatePayment, NextAction, PaymentProvider, ProviderError, ProviderEvent, ProviderPayment,
    ProviderRefund, RefundRequest, WebhookError,
};

/// Test cards, as in API.md.
pub const CARD_SUCCEEDS: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";

#[derive(Debug, Default, Clone)]
pub struct SandboxProvider;

/// What confirming with a card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    Succeeds,
    Fails(&'static str),
}

impl SandboxProvider {
    /// The outcome of a test card, or `None` for a number that is not one.
    pub fn card_outcome(card_number: &str) -> Option<CardOutcome> {
        let digits: String = card_number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        match digits.as_str() {
            CARD_SUCCEEDS => Some(CardOutcome::Succeeds),
            CARD_DECLINED => Some(CardOutcome::Fails("card_declined")),
            CARD_INSUFFICIENT_FUNDS => Some(CardOutcome::Fails("insufficient_funds")),
            _ => None,
        }
    }

    /// The provider event a sandbox confirmation produces; it travels the same path as a
    /// provider webhook. One confirmation per payment: the event id is the payment's.
    pub fn confirmation_event(payment_id: &str, provider_ref: &str, outcome: CardOutcome) -> ProviderEvent {
        let event_id = format!("sandbox_evt_{payment_id}");
        match outcome {
            CardOutcome::Succeeds => {
                ProviderEvent::PaymentSucceeded { event_id, provider_ref: provider_ref.to_owned() }
            }
            CardOutcome::Fails(code) => ProviderEvent::PaymentFailed {
                event_id,
                provider_ref: provider_ref.to_owned(),
                code: code.to_owned(),
                retryable: false,
            },
        }
    }
}

/// The sandbox's side of a payment: named after ours, nothing for the page to hold.
fn sandbox_side(req: &CreatePayment) -> ProviderPayment {
    ProviderPayment { provider_ref: format!("sandbox_pi_{}", req.payment_id), client_secret: None }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn create_payment(&self, req: CreatePayment) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        Box::pin(async move { Ok(sandbox_side(&req)) })
    }

    fn create_locally(&self, req: &CreatePayment) -> Option<ProviderPayment> {
        Some(sandbox_side(req))
    }

    fn cancel_payment<'a>(&'a self, _provider_ref: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn refund(&self, req: RefundRequest) -> BoxFuture<'_, Result<ProviderRefund, ProviderError>> {
        Box::pin(async move { Ok(ProviderRefund { refund_ref: format!("sandbox_re_{}", req.idempotency_key) }) })
    }

    fn parse_webhook(&self, _headers: &[(String, String)], _body: &[u8]) -> Result<ProviderEvent, WebhookError> {
        // Sandbox outcomes come from `POST /v1/sandbox/payments/{id}/confirm`, never a webhook.
        Err(WebhookError::MissingSignature)
    }

    fn charge_rules(&self, _currency: &str, _exponent: u8) -> ChargeRules {
        ChargeRules::ANY
    }

    fn next_action(&self, payment_id: &str, _payment: &ProviderPayment) -> NextAction {
        NextAction::SandboxConfirm { url: format!("/v1/sandbox/payments/{payment_id}/confirm") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards() {
        assert_eq!(SandboxProvider::card_outcome("4242 4242 4242 4242"), Some(CardOutcome::Succeeds));
        assert_eq!(SandboxProvider::card_outcome(CARD_DECLINED), Some(CardOutcome::Fails("card_declined")));
        assert_eq!(
            SandboxProvider::card_outcome(CARD_INSUFFICIENT_FUNDS),
            Some(CardOutcome::Fails("insufficient_funds"))
        );
        assert_eq!(SandboxProvider::card_outcome("4111111111111111"), None);
    }

    #[test]
    fn rounding_to_granularity() {
        let kwd = ChargeRules { granularity: 10, minimum: 200 };
        assert_eq!(kwd.round_up(33_335), Some(33_340));
        assert_eq!(kwd.round_up(33_340), Some(33_340));
        assert!(kwd.chargeable(33_340) && !kwd.chargeable(33_335) && !kwd.chargeable(190));
    }
}
