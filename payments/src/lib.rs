//! Payment providers behind one trait. This crate knows providers, not bills: it is asked to
//! collect an amount for a payment id, and reports provider-neutral outcomes.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub mod sandbox;
pub mod stripe;

pub use sandbox::SandboxProvider;
pub use stripe::{StripeConfig, StripeProvider};
/// Amounts a provider accepts: a rule of money, so it lives in `tablepay-domain`; providers
/// state theirs through [`PaymentProvider::charge_rules`].
pub use tablepay_domain::ChargeRules;

/// A boxed future, so providers can be chosen per venue at run time (`dyn PaymentProvider`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to collect. `idempotency_key` is derived from our payment id, so a retry after a
/// timeout finds the same provider payment instead of charging twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePayment {
    pub payment_id: String,
    pub venue_id: String,
    pub bill_id: String,
    /// Share plus tip, in minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
    pub idempotency_key: String,
}

/// The provider's side of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPayment {
    /// The provider's id (Stripe PaymentIntent id, sandbox id).
    pub provider_ref: String,
    /// What the guest's page needs to confirm (Stripe's client secret), if anything.
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub provider_ref: String,
    pub amount: i64,
    pub currency: String,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRefund {
    pub refund_ref: String,
}

/// A payment outcome reported by a provider, in our terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProviderEvent {
    PaymentSucceeded {
        event_id: String,
        provider_ref: String,
    },
    PaymentFailed {
        event_id: String,
        provider_ref: String,
        code: String,
        /// The guest may try again on the same payment (Stripe keeps a failed intent open for
        /// another card); the hold stays. Otherwise the failure is final and releases it.
        retryable: bool,
    },
    PaymentCanceled {
        event_id: String,
        provider_ref: String,
    },
    Refunded {
        event_id: String,
        provider_ref: String,
        amount_refunded: i64,
    },
    /// An event type we do not act on: acknowledged and ignored.
    Ignored {
        event_id: String,
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request (bad amount, card declined at creation …).
    #[error("the payment provider refused the request: {0}")]
    Rejected(String),
    /// The provider could not be reached or answered 5xx: the outcome is unknown, retry
    /// with the same idempotency key.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing or malformed signature header")]
    MissingSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("signature timestamp outside the tolerance")]
    StaleTimestamp,
    #[error("unreadable event payload: {0}")]
    BadPayload(String),
}

/// One payment provider. Implementations are cheap to share (`Arc<dyn PaymentProvider>`).
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Idempotent by `req.idempotency_key`.
    fn create_payment(&self, req: CreatePayment) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>>;
    /// The provider's side of a new payment when it needs no remote call (the sandbox), so it
    /// is stored in the transaction that holds the payment; `None` when the provider must be
    /// asked with [`PaymentProvider::create_payment`] after that transaction commits.
    fn create_locally(&self, _req: &CreatePayment) -> Option<ProviderPayment> {
        None
    }
    fn cancel_payment<'a>(&'a self, provider_ref: &'a str) -> BoxFuture<'a, Result<(), ProviderError>>;
    fn refund(&self, req: RefundRequest) -> BoxFuture<'_, Result<ProviderRefund, ProviderError>>;
    /// Verifies the signature and translates the event.
    fn parse_webhook(&self, headers: &[(String, String)], body: &[u8]) -> Result<ProviderEvent, WebhookError>;
    /// What this provider can charge in `currency`.
    fn charge_rules(&self, currency: &str, exponent: u8) -> ChargeRules;
    /// What the guest's page needs to confirm the payment.
    fn next_action(&self, payment_id: &str, payment: &ProviderPayment) -> NextAction;
}

/// How the guest confirms a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    SandboxConfirm { url: String },
    StripeConfirm { client_secret: String, publishable_key: String },
}
