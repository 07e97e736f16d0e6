//! Guests pay: create a payment for a split of the bill (with a tip), read it, cancel it,
//! and get its receipt.
//!
//! Creating a payment runs in one transaction with the bill locked: the split is priced by
//! `domain` against what is already paid and held, and the pending payment and the parts it
//! holds are stored before anything is asked of the provider. A payment that loses a race
//! gets 409 and no provider intent is ever created for it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tablepay_domain::ledger::{ItemRequest, MAX_ITEMS_IN_SPLIT, MAX_PARTS, SplitRefusal, SplitRequest};
use tablepay_domain::{ChargeError, Fraction, MinorUnit, SplitError, Tip};
use tablepay_payments::{CreatePayment, NextAction, ProviderError, ProviderPayment};
use utoipa::ToSchema;

use crate::AppState;
use crate::billing::{BillRecordExt, Timestamp, currency, load_bill, payment_status};
use crate::db::{self, DbConn, lock_bill};
use crate::error::{ApiError, Code};
use crate::http::{Body, Reply, new_id, parse_id};
use crate::idempotency;
use crate::payments::{bill_updated, bump_bill, transition};
use crate::routes::guest::table_by_token;
use crate::routes::venues::{MAX_AMOUNT, MAX_BPS};
use crate::secrets::digest;
use tablepay_store::rows::{DiningTable, Payment, PaymentItem, Venue};
use tablepay_store::schema::{bills, payment_items, payments};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatePaymentBody {
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    bill_id: String,
    split: SplitInput,
    tip: Option<TipInput>,
    #[schema(max_length = 254, example = "guest@example.com")]
    email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum SplitInput {
    Remaining,
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

fn exceeds(detail: impl Into<String>) -> ApiError {
    ApiError::conflict(Code::AmountExceedsRemaining, detail)
}

fn unavailable() -> ApiError {
    ApiError::conflict(Code::ItemsUnavailable, "part of those items is already paid or held by another guest")
}

/// The guest's split as the ledger takes it; item ids are parsed here, at the edge.
fn split_request(split: &SplitInput) -> Result<SplitRequest, ApiError> {
    Ok(match split {
        SplitInput::Remaining => SplitRequest::Remaining,
        SplitInput::Amount { amount } => SplitRequest::Amount(*amount),
        SplitInput::Equal { parts, count } => SplitRequest::Equal { parts: *parts, count: count.unwrap_or(1) },
        SplitInput::Items { items } => SplitRequest::Items(
            items
                .iter()
                .enumerate()
                .map(|(i, claim)| {
                    let item_id = parse_id(&claim.item_id, "item")
                        .map_err(|_| ApiError::invalid(format!("split.items[{i}].item_id is not on this bill")))?;
                    Ok(ItemRequest {
                        item_id,
                        quantity: claim.quantity,
                        share_parts: claim.share.as_ref().map(|s| s.parts),
                    })
                })
                .collect::<Result<_, ApiError>>()?,
        ),
    })
}

/// The answer to a split the ledger refuses.
fn refusal(refusal: SplitRefusal) -> ApiError {
    match refusal {
        SplitRefusal::AmountBelowOne => ApiError::invalid("split.amount must be at least 1"),
        SplitRefusal::PartsOutOfRange => ApiError::invalid(format!("split.parts must be from 2 to {MAX_PARTS}")),
        SplitRefusal::CountOutOfRange => ApiError::invalid("split.count must be from 1 to split.parts"),
        SplitRefusal::ItemCount => ApiError::invalid(format!("split.items must name 1 to {MAX_ITEMS_IN_SPLIT} items")),
        SplitRefusal::ItemTwice { index } => ApiError::invalid(format!("split.items[{index}] names an item twice")),
        SplitRefusal::NotAnActiveItem { index } => {
            ApiError::invalid(format!("split.items[{index}].item_id is not an active item of this bill"))
        }
        SplitRefusal::BadItemPart { index, quantity } => ApiError::invalid(format!(
            "split.items[{index}] takes either a quantity from 1 to {quantity} or a share of 2 to {MAX_PARTS} parts"
        )),
        SplitRefusal::NotAPart { index } => {
            ApiError::invalid(format!("split.items[{index}] is not a part of the item"))
        }
        SplitRefusal::CostsNothing => ApiError::invalid("those items cost nothing; there is nothing to pay"),
        SplitRefusal::Overflow | SplitRefusal::Taken(SplitError::Overflow) => ApiError::invalid("amount out of range"),
        SplitRefusal::NothingRemains => exceeds("nothing remains to be paid; other payments may still be pending"),
        SplitRefusal::AmountExceeds { remaining } => exceeds(format!("only {} remains to be paid", remaining.get())),
        SplitRefusal::ItemsExceed { cost, remaining } => {
            exceeds(format!("those items cost {} but only {} remains to be paid", cost.get(), remaining.get()))
        }
        SplitRefusal::SplitInOtherParts { parts } => ApiError::conflict(
            Code::Conflict,
            format!("this bill is being split in {parts} equal shares; pay shares of {parts}"),
        ),
        SplitRefusal::Taken(SplitError::ItemUnavailable) => unavailable(),
        SplitRefusal::Taken(SplitError::SharesUnavailable) => exceeds("those equal shares are already paid or held"),
        SplitRefusal::Taken(SplitError::ExceedsRemaining) => exceeds("the amount exceeds what remains to be paid"),
    }
}

/// A payment as the guest sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    pub bill_id: String,
    pub status: String,
    pub split_type: String,
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

pub fn payment_view(state: &AppState, payment: &Payment, parts: &[PaymentItem]) -> Result<PaymentView, ApiError> {
    let next_action = match (&payment.provider_ref, payment.status.as_str()) {
        (Some(reference), "pending") => Some(state.providers.get(&payment.provider)?.next_action(
            &payment.id,
            &ProviderPayment { provider_ref: reference.clone(), client_secret: payment.client_secret.clone() },
        )),
        _ => None,
    };
    Ok(PaymentView {
        id: payment.id.clone(),
        bill_id: payment.bill_id.clone(),
        status: payment.status.clone(),
        split_type: payment.split_type.clone(),
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

fn load_payment(conn: &mut DbConn, payment_id: &str) -> Result<(Payment, Vec<PaymentItem>), ApiError> {
    let payment: Payment = payments::table
        .find(payment_id)
        .select(Payment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    let parts = payment_items::table
        .filter(payment_items::payment_id.eq(payment_id))
        .select(PaymentItem::as_select())
        .load(conn)?;
    Ok((payment, parts))
}

/// A payment of the table behind `qr_token`; 404 for any other.
fn table_payment(
    conn: &mut DbConn,
    qr_token: &str,
    payment_id: &str,
) -> Result<(DiningTable, Venue, Payment, Vec<PaymentItem>), ApiError> {
    let (table, venue) = table_by_token(conn, qr_token)?;
    let payment_id = parse_id(payment_id, "payment")?;
    let (payment, parts) = load_payment(conn, &payment_id)?;
    let bill_table: String = bills::table.find(&payment.bill_id).select(bills::table_id).first(conn)?;
    if bill_table != table.id {
        return Err(ApiError::not_found("payment"));
    }
    Ok((table, venue, payment, parts))
}

/// `POST /v1/t/{qr_token}/payments`.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/payments", tag = "payments", request_body = CreatePaymentBody,
    responses(
        (status = 201, description = "Pending: the amount is held; next_action says how to pay", body = PaymentView),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let input: CreatePaymentBody = body.json()?;
    let lookup = token.clone();
    let (table, _) = state.db.run(move |conn| table_by_token(conn, &lookup)).await?;
    let key = req.headers().get(idempotency::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fingerprint = digest(&String::from_utf8_lossy(&body.canonical()));
    idempotency::run(&state, &req, format!("table:{}", table.id), &body, || async {
        let tip = parse_tip(input.tip.as_ref())?;
        let email = parse_email(input.email.as_deref())?;
        let bill_id = parse_id(&input.bill_id, "bill")?;
        let hold = Duration::seconds(state.settings.hold_seconds as i64);
        let providers_state = state.clone();
        let table_id = table.id.clone();
        let payment = state
            .db
            .write(move |conn| {
                if !lock_bill(conn, &bill_id)? {
                    return Err(ApiError::not_found("bill"));
                }
                let record = load_bill(conn, &bill_id)?.ok_or_else(|| ApiError::not_found("bill"))?;
                if record.bill.table_id != table_id {
                    return Err(ApiError::not_found("bill"));
                }
                if let Some(key) = &key {
                    let existing: Option<Payment> = payments::table
                        .filter(payments::bill_id.eq(&bill_id))
                        .filter(payments::idempotency_key.eq(key))
                        .select(Payment::as_select())
                        .first(conn)
                        .optional()?;
                    if let Some(existing) = existing {
                        if existing.request_fingerprint.as_deref() != Some(fingerprint.as_str()) {
                            return Err(ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                Code::IdempotencyKeyReused,
                                "this Idempotency-Key was used with a different request; use a new key",
                            ));
                        }
                        return Ok(existing);
                    }
                }
                if record.bill.status != "open" {
                    return Err(ApiError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)));
                }
                let split = split_request(&input.split)?;
                let ledger = record.state()?;
                let fixed_parts = record.bill.equal_parts.map(i64::from);
                let priced = ledger.price_split(&split, fixed_parts).map_err(refusal)?;
                let currency = currency(&record.venue)?;
                let provider = providers_state.providers.get(&record.venue.payment_provider)?;
                let rules = provider.charge_rules(currency.code(), currency.exponent());
                let tip_amount = match tip {
                    Some(t) => t.amount(priced.amount).map_err(|_| ApiError::invalid("tip out of range"))?,
                    None => MinorUnit::ZERO,
                };
                let charged = tablepay_domain::charge(rules, priced.amount, tip_amount, ledger.remaining())
                    .map_err(|e| match e {
                        ChargeError::BelowMinimum { charge, minimum } => ApiError::invalid(format!(
                            "{} is below the smallest charge {} accepts ({}); add a tip or pay a larger part",
                            currency.format(charge),
                            provider.name(),
                            currency.format(minimum)
                        )),
                        ChargeError::LeavesTooLittle { left, .. } => ApiError::invalid(format!(
                            "this would leave {}, less than the smallest charge {} accepts; pay the remaining amount instead",
                            currency.format(left),
                            provider.name()
                        )),
                        ChargeError::Overflow => ApiError::invalid("amount out of range"),
                    })?;
                let now = db::now();
                let payment = Payment {
                    id: new_id(),
                    venue_id: record.venue.id.clone(),
                    bill_id: bill_id.clone(),
                    status: "pending".into(),
                    split_type: split.kind().into(),
                    amount: priced.amount.get(),
                    tip_amount: charged.tip.get(),
                    refunded_amount: 0,
                    currency: currency.code().into(),
                    provider: provider.name().into(),
                    provider_ref: None,
                    client_secret: None,
                    failure_code: None,
                    email,
                    equal_parts: priced.equal.map(|e| e.parts as i32),
                    equal_count: priced.equal.map(|e| e.count as i32),
                    server_id: record.bill.server_id.clone(),
                    idempotency_key: key,
                    request_fingerprint: Some(fingerprint),
                    expires_at: now + hold,
                    created_at: now,
                    updated_at: now,
                    succeeded_at: None,
                };
                diesel::insert_into(payments::table).values(&payment).execute(conn)?;
                let rows: Vec<PaymentItem> = priced
                    .parts
                    .iter()
                    .map(|p| PaymentItem {
                        payment_id: payment.id.clone(),
                        item_id: p.item_id.clone(),
                        bill_id: bill_id.clone(),
                        fraction_num: p.fraction.num,
                        fraction_den: p.fraction.den,
                        amount: p.amount.get(),
                    })
                    .collect();
                tablepay_store::batch_insert!(conn, payment_items::table, &rows);
                if let Some(equal) = priced.equal {
                    diesel::update(bills::table.find(&bill_id))
                        .set(bills::equal_parts.eq(equal.parts as i32))
                        .execute(conn)?;
                }
                bump_bill(conn, &bill_id, now)?;
                bill_updated(conn, &bill_id)?;
                Ok(payment)
            })
            .await?;
        let payment = ensure_provider_payment(&state, payment).await?;
        let id = payment.id.clone();
        let (payment, parts) = state.db.run(move |conn| load_payment(conn, &id)).await?;
        Reply::created(payment_view(&state, &payment, &parts)?)
    })
    .await
}

/// Asks the provider for its side of a pending payment that has none yet. Idempotent by our
/// payment id, so a retry after a timeout finds the intent the first attempt created.
async fn ensure_provider_payment(state: &AppState, payment: Payment) -> Result<Payment, ApiError> {
    if payment.provider_ref.is_some() || payment.status != "pending" {
        return Ok(payment);
    }
    let provider = state.providers.get(&payment.provider)?;
    let request = CreatePayment {
        payment_id: payment.id.clone(),
        venue_id: payment.venue_id.clone(),
        bill_id: payment.bill_id.clone(),
        amount: payment.amount + payment.tip_amount,
        currency: payment.currency.clone(),
        idempotency_key: format!("tablepay-payment-{}", payment.id),
    };
    match provider.create_payment(request).await {
        Ok(created) => {
            let id = payment.id.clone();
            state
                .db
                .write(move |conn| {
                    diesel::update(payments::table.find(&id))
                        .set((
                            payments::provider_ref.eq(&created.provider_ref),
                            payments::client_secret.eq(&created.client_secret),
                            payments::updated_at.eq(db::now()),
                        ))
                        .execute(conn)?;
                    Ok(payments::table.find(&id).select(Payment::as_select()).first(conn)?)
                })
                .await
        }
        Err(ProviderError::Rejected(reason)) => {
            tracing::warn!(payment = %payment.id, %reason, "provider rejected the payment");
            let id = payment.id.clone();
            state
                .db
                .write(move |conn| {
                    let bill_id: String = payments::table.find(&id).select(payments::bill_id).first(conn)?;
                    lock_bill(conn, &bill_id)?;
                    let payment: Payment = payments::table.find(&id).select(Payment::as_select()).first(conn)?;
                    if payment.status == "pending" {
                        transition(
                            conn,
                            &payment,
                            tablepay_domain::PaymentStatus::Failed,
                            Some("provider_rejected"),
                            db::now(),
                        )?;
                    }
                    Ok(())
                })
                .await?;
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::ProviderRejected,
                format!("the payment provider refused the payment: {reason}"),
            ))
        }
        Err(ProviderError::Unavailable(reason)) => {
            tracing::warn!(payment = %payment.id, %reason, "provider unavailable while creating a payment");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::ProviderUnavailable,
                "the payment provider did not answer; retry with the same Idempotency-Key",
            ))
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
    let (_, _, payment, parts) = state.db.run(move |conn| table_payment(conn, &token, &payment_id)).await?;
    Ok(Reply::ok(payment_view(&state, &payment, &parts)?)?.into_response())
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
    let (_, _, payment, _) = state.db.run(move |conn| table_payment(conn, &token, &payment_id)).await?;
    let status = payment_status(&payment)?;
    if status == tablepay_domain::PaymentStatus::Pending {
        if let Some(reference) = &payment.provider_ref {
            let provider = state.providers.get(&payment.provider)?;
            provider.cancel_payment(reference).await.map_err(|e| match e {
                ProviderError::Rejected(reason) => {
                    ApiError::conflict(Code::Conflict, format!("the provider cannot cancel it: {reason}"))
                }
                ProviderError::Unavailable(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::ProviderUnavailable,
                    "the payment provider did not answer; retry",
                ),
            })?;
        }
    } else if status != tablepay_domain::PaymentStatus::Canceled {
        return Err(ApiError::conflict(
            Code::Conflict,
            format!("the payment is {}; it cannot be cancelled", status.as_str()),
        ));
    }
    let id = payment.id.clone();
    let (payment, parts) = state
        .db
        .write(move |conn| {
            lock_bill(conn, &payment.bill_id)?;
            let (current, parts) = load_payment(conn, &id)?;
            if current.status == "pending" {
                transition(conn, &current, tablepay_domain::PaymentStatus::Canceled, None, db::now())?;
            } else if current.status != "canceled" {
                return Err(ApiError::conflict(
                    Code::Conflict,
                    format!("the payment is {}; it cannot be cancelled", current.status),
                ));
            }
            Ok((payments::table.find(&id).select(Payment::as_select()).first(conn)?, parts))
        })
        .await?;
    Ok(Reply::ok(payment_view(&state, &payment, &parts)?)?.into_response())
}

/// One line of a receipt: `name` and `detail` in English for printing, and what they say as
/// fields, for a page that speaks the guest's language.
#[derive(Debug, Serialize, ToSchema)]
struct ReceiptLine {
    name: String,
    detail: String,
    amount: i64,
    /// The bill's line, for an items split.
    item_id: Option<String>,
    /// Whole units of the line, when the part is a whole number of them.
    units: Option<i64>,
    /// The part of the line otherwise (`1/2` of a shared dish; `1/1` the whole line).
    share: Option<Fraction>,
    /// `count` of `parts` equal shares, for an equal split.
    equal: Option<EqualShares>,
}

#[derive(Debug, Serialize, ToSchema)]
struct EqualShares {
    count: i32,
    parts: i32,
}

impl ReceiptLine {
    /// A line for a part of the bill as a whole (no item of it).
    fn whole(amount: i64) -> ReceiptLine {
        ReceiptLine {
            name: String::new(),
            detail: String::new(),
            amount,
            item_id: None,
            units: None,
            share: None,
            equal: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
struct Receipt {
    payment_id: String,
    status: String,
    venue: String,
    table: String,
    bill_id: String,
    currency: String,
    split_type: String,
    lines: Vec<ReceiptLine>,
    amount: i64,
    tip_amount: i64,
    total_amount: i64,
    refunded_amount: i64,
    /// The amounts include tax, whether the venue's prices do or tax was added.
    tax_included: bool,
    paid_at: Option<Timestamp>,
}

/// `GET /v1/t/{qr_token}/payments/{payment_id}/receipt`: JSON, or a printable page with
/// `Accept: text/html`.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}/payments/{payment_id}/receipt", tag = "payments",
    responses(
        (status = 200, description = "The receipt: JSON, or a printable page with Accept: text/html", content((Receipt = "application/json"), (String = "text/html"))),
    )
)]
pub async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, payment_id) = path.into_inner();
    let (table, venue, payment, parts, record) = state
        .db
        .run(move |conn| {
            let (table, venue, payment, parts) = table_payment(conn, &token, &payment_id)?;
            let record = load_bill(conn, &payment.bill_id)?.ok_or_else(|| ApiError::not_found("bill"))?;
            Ok((table, venue, payment, parts, record))
        })
        .await?;
    let lines = match payment.split_type.as_str() {
        "items" => parts
            .iter()
            .map(|part| {
                let item = record.items.iter().find(|i| i.id == part.item_id);
                let name = item.map_or_else(|| "Item".to_owned(), |i| i.name.clone());
                // Fractions are stored reduced: 2 of 4 beers is 1/2 of the line.
                let units = item
                    .map(|i| i128::from(part.fraction_num) * i128::from(i.quantity))
                    .filter(|u| u % i128::from(part.fraction_den) == 0);
                let units = units.map(|u| (u / i128::from(part.fraction_den)) as i64);
                let detail = match units {
                    Some(u) => format!("{u} × {name}"),
                    None if part.fraction_num == part.fraction_den => "whole item".to_owned(),
                    None => format!("{}/{} share", part.fraction_num, part.fraction_den),
                };
                ReceiptLine {
                    name,
                    detail,
                    amount: part.amount,
                    item_id: Some(part.item_id.clone()),
                    units,
                    share: units.is_none().then_some(Fraction { num: part.fraction_num, den: part.fraction_den }),
                    equal: None,
                }
            })
            .collect(),
        "equal" => {
            let (count, parts) = (payment.equal_count.unwrap_or(1), payment.equal_parts.unwrap_or(1));
            vec![ReceiptLine {
                name: "Equal share of the bill".into(),
                detail: format!("{count} of {parts} shares"),
                equal: Some(EqualShares { count, parts }),
                ..ReceiptLine::whole(payment.amount)
            }]
        }
        "remaining" => vec![ReceiptLine {
            name: "Remaining balance".into(),
            detail: "the rest of the bill".into(),
            ..ReceiptLine::whole(payment.amount)
        }],
        _ => vec![ReceiptLine {
            name: "Part of the bill".into(),
            detail: "custom amount".into(),
            ..ReceiptLine::whole(payment.amount)
        }],
    };
    let receipt = Receipt {
        payment_id: payment.id.clone(),
        status: payment.status.clone(),
        venue: venue.name.clone(),
        table: table.label.clone(),
        bill_id: payment.bill_id.clone(),
        currency: payment.currency.clone(),
        split_type: payment.split_type.clone(),
        lines,
        amount: payment.amount,
        tip_amount: payment.tip_amount,
        total_amount: payment.amount + payment.tip_amount,
        refunded_amount: payment.refunded_amount,
        tax_included: true,
        paid_at: payment.succeeded_at.map(Timestamp),
    };
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        let currency = currency(&venue)?;
        return Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(receipt_html(&receipt, currency)));
    }
    Ok(Reply::ok(receipt)?.into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn receipt_html(r: &Receipt, currency: tablepay_domain::Currency) -> String {
    let money = |v: i64| escape(&currency.format(MinorUnit(v)));
    let rows: String = r
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}<br><small>{}</small></td><td class=\"n\">{}</td></tr>",
                escape(&l.name),
                escape(&l.detail),
                money(l.amount)
            )
        })
        .collect();
    let paid =
        r.paid_at.map(|t| t.0.and_utc().format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| r.status.clone());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Receipt — {venue}</title><style>body{{font:16px/1.4 system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#111}}\
table{{width:100%;border-collapse:collapse}}td{{padding:.4rem 0;border-bottom:1px solid #ddd;vertical-align:top}}.n{{text-align:right;white-space:nowrap}}\
tfoot td{{font-weight:600;border:0}}small{{color:#555}}@media print{{body{{margin:0}}}}</style></head><body>\
<h1>{venue}</h1><p>Table {table} · {paid}</p><table><tbody>{rows}</tbody><tfoot>\
<tr><td>Subtotal</td><td class=\"n\">{amount}</td></tr><tr><td>Tip</td><td class=\"n\">{tip}</td></tr>\
<tr><td>Total charged</td><td class=\"n\">{total}</td></tr></tfoot></table>\
<p><small>Amounts include tax. Payment {id} · status {status}.</small></p></body></html>",
        venue = escape(&r.venue),
        table = escape(&r.table),
        paid = escape(&paid),
        rows = rows,
        amount = money(r.amount),
        tip = money(r.tip_amount),
        total = money(r.total_amount),
        id = escape(&r.payment_id),
        status = escape(&r.status),
    )
}
