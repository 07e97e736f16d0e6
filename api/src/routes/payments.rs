//! Guests pay: create a payment for a split of the bill (with a tip), read it, cancel it,
//! and get its receipt.
//!
//! Creating a payment runs in one transaction with the bill locked: the split is priced by
//! `domain` against what is already paid and held, and the pending payment and the parts it
//! holds are stored before anything is asked of the provider. A payment that loses a race
//! gets 409 and no provider intent is ever created for it.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use tablepay_domain::ledger::{ItemRequest, SplitKind, SplitRequest};
use tablepay_domain::{Fraction, MinorUnit, PaymentStatus, Tip};
use tablepay_payments::{NextAction, ProviderPayment};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::app::checkout::{self, AnswerKey, Checkout};
use crate::app::invoices::{self, InvoiceRequest, InvoiceView};
use crate::app::locale::Lang;
use crate::app::mail::{self, EmailView};
use crate::app::providers::Providers;
use crate::app::receipts::{self, Receipt};
use crate::app::venues::{MAX_AMOUNT, MAX_BPS};
use crate::app::{AppError, AppResult};
use crate::billing::Timestamp;
use crate::error::ApiError;
use crate::http::{Body, KnownTable, Reply, multiline_field, parse_id, text_field};
use crate::idempotency;
use crate::secrets::digest;
use tablepay_domain::BillId;
use tablepay_store::rows::{Payment, PaymentItem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatePaymentBody {
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    bill_id: String,
    /// The bill's `version` as the guest last saw it: if its items, prices or adjustments
    /// changed since, the answer is 409 `bill_changed` with the current bill, and nothing is held.
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    bill_version: Option<i64>,
    split: SplitInput,
    tip: Option<TipInput>,
    #[schema(max_length = 254, example = "guest@example.com")]
    email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum SplitInput {
    // A struct variant, not a unit one: serde ignores unknown fields beside a unit variant's tag.
    Remaining {},
    Equal { parts: i64, count: Option<i64> },
    Items { items: Vec<ItemClaim> },
    Amount { amount: i64 },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ItemClaim {
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    item_id: String,
    #[schema(minimum = 1, maximum = 100000)]
    quantity: Option<i64>,
    share: Option<ShareInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ShareInput {
    #[schema(minimum = 2, maximum = 100)]
    parts: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TipInput {
    #[schema(minimum = 0, maximum = 1e15)]
    amount: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    percent_bps: Option<i64>,
}

fn parse_tip(tip: Option<&TipInput>) -> Result<Option<Tip>, ApiError> {
    match tip {
        None => Ok(None),
        Some(TipInput { amount: Some(a), percent_bps: None }) if (0..=MAX_AMOUNT).contains(a) => {
            Ok(Some(Tip::Amount(MinorUnit(*a))))
        }
        Some(TipInput { amount: None, percent_bps: Some(p) }) if (0..=MAX_BPS).contains(p) => {
            Ok(Some(Tip::PercentBps(*p as u32)))
        }
        Some(_) => Err(ApiError::invalid(format!(
            "tip is either {{\"amount\": 0..{MAX_AMOUNT}}} or {{\"percent_bps\": 0..{MAX_BPS}}}"
        ))),
    }
}

fn parse_email(email: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid { Ok(Some(email.to_owned())) } else { Err(ApiError::invalid("email is not an e-mail address")) }
}

/// The guest's split as the ledger takes it. Item ids are kept as sent: the use case reads
/// them after the bill's own refusals.
fn split_request(split: &SplitInput) -> SplitRequest {
    match split {
        SplitInput::Remaining {} => SplitRequest::Remaining,
        SplitInput::Amount { amount } => SplitRequest::Amount(*amount),
        SplitInput::Equal { parts, count } => SplitRequest::Equal { parts: *parts, count: count.unwrap_or(1) },
        SplitInput::Items { items } => SplitRequest::Items(
            items
                .iter()
                .map(|claim| ItemRequest {
                    item_id: claim.item_id.clone(),
                    quantity: claim.quantity,
                    share_parts: claim.share.as_ref().map(|s| s.parts),
                })
                .collect(),
        ),
    }
}

/// A payment as the guest sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    pub bill_id: String,
    pub status: PaymentStatus,
    pub split_type: SplitKind,
    pub amount: i64,
    pub tip_amount: i64,
    pub total_amount: i64,
    pub refunded_amount: i64,
    pub currency: String,
    pub provider: String,
    pub failure_code: Option<String>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub succeeded_at: Option<Timestamp>,
    pub items: Vec<PartView>,
    pub next_action: Option<NextAction>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartView {
    pub item_id: String,
    pub fraction: Fraction,
    pub amount: i64,
}

/// The payment as the guest sees it; a pending one says how to pay it.
pub fn payment_view(providers: &Providers, payment: &Payment, parts: &[PaymentItem]) -> AppResult<PaymentView> {
    let pending = payment.status == PaymentStatus::Pending;
    let next_action = match &payment.provider_ref {
        Some(reference) if pending => Some(providers.get(&payment.provider)?.next_action(
            &payment.id,
            &ProviderPayment { provider_ref: reference.clone(), client_secret: payment.client_secret.clone() },
        )),
        _ => None,
    };
    Ok(PaymentView {
        id: payment.id.clone(),
        bill_id: payment.bill_id.clone(),
        status: payment.status,
        split_type: payment.split_type,
        amount: payment.amount,
        tip_amount: payment.tip_amount,
        total_amount: payment.amount + payment.tip_amount,
        refunded_amount: payment.refunded_amount,
        currency: payment.currency.clone(),
        provider: payment.provider.clone(),
        failure_code: payment.failure_code.clone(),
        expires_at: Timestamp(payment.expires_at),
        created_at: Timestamp(payment.created_at),
        succeeded_at: payment.succeeded_at.map(Timestamp),
        items: parts
            .iter()
            .filter(|p| p.payment_id == payment.id)
            .map(|p| PartView {
                item_id: p.item_id.clone(),
                fraction: Fraction { num: p.fraction_num, den: p.fraction_den },
                amount: p.amount,
            })
            .collect(),
        next_action,
    })
}

/// `POST /v1/t/{qr_token}/payments`.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/payments", tag = "payments", request_body = CreatePaymentBody,
    responses(
        (status = 201, description = "Pending: the amount is held; next_action says how to pay", body = PaymentView),
    )
)]
pub async fn create(state: web::Data<AppState>, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let input: CreatePaymentBody = body.json()?;
    // The limiter found the table; a token it did not find names none.
    let table = req.extensions().get::<KnownTable>().cloned().ok_or_else(|| ApiError::not_found("table"))?;
    let idempotency_key = idempotency::key_of(&req)?;
    let fingerprint = digest(&String::from_utf8_lossy(&body.canonical()));
    let mut keyed = idempotency::Keyed::of(&req, format!("table:{}", table.table_id), &body)?;
    if let Some(keyed) = keyed.as_mut()
        && let Some(replay) = keyed.replay(&state.db).await?
    {
        return Ok(replay);
    }
    let answer_key = keyed.as_ref().map(|k| {
        let providers = state.providers.clone();
        AnswerKey {
            scope: k.scope.clone(),
            key: k.key.clone(),
            fingerprint: k.fingerprint.clone(),
            take_over: k.take_over,
            in_flight_lease: idempotency::in_flight_lease(),
            answer: std::sync::Arc::new(move |payment: &Payment, parts: &[PaymentItem]| {
                let view = serde_json::to_value(payment_view(&providers, payment, parts)?)
                    .map_err(|e| AppError::internal(format!("payment view: {e}")))?;
                Ok((201, view.to_string()))
            }),
        }
    });
    let created = async {
        let request = Checkout {
            tip: parse_tip(input.tip.as_ref())?,
            email: parse_email(input.email.as_deref())?,
            bill_id: parse_id::<BillId>(&input.bill_id)?.into(),
            bill_version: input.bill_version,
            table_id: table.table_id.clone(),
            split: split_request(&input.split),
            idempotency_key,
            fingerprint,
            hold: Duration::seconds(state.settings.hold_seconds as i64),
        };
        Ok::<_, ApiError>(checkout::create(&state.db, &state.providers, request, answer_key).await?)
    }
    .await;
    match created {
        Ok(created) => {
            let response = Reply::created(payment_view(&state.providers, &created.payment, &created.parts)?)?;
            let response = response.into_response();
            Ok(if created.replayed { idempotency::replayed(response) } else { response })
        }
        Err(err) => {
            if let Some(keyed) = keyed {
                keyed.settle_failure(&state.db, &err).await;
            }
            Err(err)
        }
    }
}

/// `GET /v1/t/{qr_token}/payments/{payment_id}`.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}/payments/{payment_id}", tag = "payments",
    responses(
        (status = 200, description = "OK", body = PaymentView),
    )
)]
pub async fn get(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let (payment, parts) = checkout::table_payment(&state.db, token, payment_id).await?;
    Ok(Reply::ok(payment_view(&state.providers, &payment, &parts)?)?.into_response())
}

/// `POST /v1/t/{qr_token}/payments/{payment_id}/cancel`: releases the hold. The provider's
/// side is cancelled first, so a payment the guest completed meanwhile is not released.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/payments/{payment_id}/cancel", tag = "payments",
    responses(
        (status = 200, description = "Canceled: the hold is released", body = PaymentView),
    )
)]
pub async fn cancel(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let (payment, parts) = checkout::cancel(&state.db, &state.providers, token, payment_id).await?;
    Ok(Reply::ok(payment_view(&state.providers, &payment, &parts)?)?.into_response())
}

/// Whom an invoice is made out to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InvoiceBody {
    #[schema(min_length = 1, max_length = 200, example = "Acme SAS")]
    company_name: String,
    /// The company's postal address; lines separated by newlines.
    #[schema(min_length = 1, max_length = 500, example = "1 avenue de France\n75013 Paris")]
    address: String,
    #[schema(min_length = 1, max_length = 32, example = "FR12345678901")]
    vat_id: Option<String>,
}

/// `POST /v1/t/{qr_token}/payments/{payment_id}/invoice`: an invoice of a paid payment to a
/// company, numbered in the venue's gap-free sequence of invoices, as JSON or, with
/// `Accept: text/html`, as a printable page. The same body again returns the same invoice; a
/// payment is invoiced to one company only.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/payments/{payment_id}/invoice", tag = "payments", params(LangQuery),
    request_body = InvoiceBody,
    responses(
        (status = 201, description = "The invoice (the same one for the same body): JSON, or a printable page with Accept: text/html", content((InvoiceView = "application/json"), (String = "text/html"))),
        (status = 409, description = "`payment_not_paid`: the payment is not paid or was refunded in full; `conflict`: it was invoiced to another company", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn invoice(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let lang = query.negotiate(&req)?;
    let input: InvoiceBody = body.json()?;
    let to = InvoiceRequest {
        company_name: text_field("company_name", &input.company_name, 200)?,
        address: multiline_field("address", &input.address, 500)?,
        vat_id: input.vat_id.as_deref().map(|v| text_field("vat_id", v, 32)).transpose()?,
    };
    let invoice = invoices::invoice(&state.db, token, payment_id, to, lang).await?;
    if wants_html(&req) {
        let page = invoices::html(&invoice)?;
        return Ok(HttpResponse::Created().content_type("text/html; charset=utf-8").body(page));
    }
    Ok(Reply::created(invoice)?.into_response())
}

/// Where to e-mail a receipt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    #[schema(min_length = 3, max_length = 254, example = "guest@example.com")]
    email: String,
}

/// `POST /v1/t/{qr_token}/payments/{payment_id}/receipt/email`: e-mails the paid payment's
/// receipt over SMTP, in the guest's language. The e-mail is queued and sent from the outbox,
/// retried while the mail server is unreachable, once per request (with `Idempotency-Key`, once
/// per key; the same address asked again while its e-mail waits gets that e-mail).
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/payments/{payment_id}/receipt/email", tag = "payments", params(LangQuery),
    request_body = EmailBody,
    responses(
        (status = 202, description = "Queued: the receipt is being e-mailed", body = EmailView),
        (status = 409, description = "`payment_not_paid`: only a paid payment's receipt is e-mailed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`email_unavailable`: no SMTP server is set up", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn email_receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let lang = query.negotiate(&req)?;
    let input: EmailBody = body.json()?;
    let email = mail::recipient(&input.email)?;
    let scope = format!("qr:{token}");
    idempotency::run(&state, &req, scope, &body, || async {
        let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request = mail::EmailRequest { qr_token: token, payment_id, email, lang, key };
        let queued = mail::email_receipt(&state.db, state.settings.mail.as_ref(), &state.mail_wake, request).await?;
        Reply::with_status(actix_web::http::StatusCode::ACCEPTED, queued)
    })
    .await
}

/// The language a document is printed in: `?lang=`, else `Accept-Language`, else English.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LangQuery {
    /// A language tag such as `fr` or `en-GB`; receipts and invoices are printed in English and
    /// French, other languages fall back to `Accept-Language`, then English.
    #[param(pattern = "^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$", max_length = 35)]
    lang: Option<String>,
}

impl LangQuery {
    /// The language to print in, for this query and the request's `Accept-Language`.
    pub fn negotiate(&self, req: &HttpRequest) -> Result<Lang, ApiError> {
        if let Some(tag) = &self.lang {
            let well_formed = tag.len() <= 35
                && tag.split('-').all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
                && tag.split('-').next().is_some_and(|p| p.chars().all(|c| c.is_ascii_alphabetic()));
            if !well_formed {
                return Err(ApiError::invalid("lang must be a language tag such as fr or en-GB"));
            }
        }
        let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Lang::negotiate(self.lang.as_deref(), accept))
    }
}

/// Whether the client asked for a printable page rather than JSON.
pub fn wants_html(req: &HttpRequest) -> bool {
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// `GET /v1/t/{qr_token}/payments/{payment_id}/receipt`: the payment's itemised receipt in the
/// guest's language (`?lang=`, else `Accept-Language`), as JSON or, with `Accept: text/html`,
/// as a printable page. A paid payment's receipt gets the venue's next receipt number the first
/// time it is issued.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}/payments/{payment_id}/receipt", tag = "payments", params(LangQuery),
    responses(
        (status = 200, description = "The receipt: JSON, or a printable page with Accept: text/html", content((Receipt = "application/json"), (String = "text/html"))),
        (status = 422, description = "`lang` is not a language tag", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let lang = query.negotiate(&req)?;
    let (receipt, venue) = receipts::receipt(&state.db, token, payment_id, lang).await?;
    if wants_html(&req) {
        let page = receipts::html(&receipt, &venue)?;
        return Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page));
    }
    Ok(Reply::ok(receipt)?.into_response())
}
