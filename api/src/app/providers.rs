//! The payment providers this server can use. A venue names one; its payments remember which,
//! so a payment is always finished by the provider that started it.

use std::sync::Arc;

use tablepay_payments::{PaymentProvider, SandboxProvider, StripeProvider};

use crate::app::{AppError, AppResult};
use crate::settings::Settings;

/// The providers configured on this server: the sandbox always, Stripe when its keys are set.
/// Cheap to clone (shared handles), so a transaction can take its own.
#[derive(Clone)]
pub struct Providers {
    sandbox: Arc<SandboxProvider>,
    stripe: Option<Arc<StripeProvider>>,
}

impl Providers {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Providers> {
        let stripe = match &settings.stripe {
            Some(config) => Some(Arc::new(StripeProvider::new(config.clone()).map_err(anyhow::Error::msg)?)),
            None => None,
        };
        Ok(Providers { sandbox: Arc::new(SandboxProvider), stripe })
    }

    /// Names a venue may choose on this server.
    pub fn available(&self) -> Vec<&'static str> {
        let mut names = vec!["sandbox"];
        if self.stripe.is_some() {
            names.push("stripe");
        }
        names
    }

    /// The provider a venue or payment names. A name this server cannot serve is our fault
    /// (the venue was configured on a server with other keys), never the caller's.
    pub fn get(&self, name: &str) -> AppResult<Arc<dyn PaymentProvider>> {
        match name {
            "sandbox" => Ok(self.sandbox.clone()),
            "stripe" => match &self.stripe {
                Some(stripe) => Ok(stripe.clone()),
                None => Err(AppError::internal("a venue uses Stripe but Stripe is not configured")),
            },
            other => Err(AppError::internal(format!("unknown provider {other}"))),
        }
    }

    /// Stripe, when configured: its webhook endpoint exists only then.
    pub fn stripe(&self) -> Option<Arc<StripeProvider>> {
        self.stripe.clone()
    }
}
