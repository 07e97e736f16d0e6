//! Use case: a guest pays their part of a bill, or lets go of it.
//!
//! Creating a payment runs in ONE write transaction: the split is priced by the ledger against
//! what is already paid and held, the charge by the provider's rules, and the pending payment,
//! the parts it holds, `bill.updated`, the bill's new version and the `Idempotency-Key` record
//! are stored together. The pricing is done before that transaction, on the bill as committed
//! (remembered between requests, see [`tablepay_store::bills::Memo`]), and the transaction
//! commits it only if the bill is still at the version priced ([`tablepay_store::bills::advance`]);
//! otherwise it prices again, and after [`unlocked::ATTEMPTS`] tries (or for any refusal) does it
//! all under the bill's lock. Either way what a guest takes was priced against the bill exactly
//! as it stood when the payment committed. A provider that needs no remote call (the
//! sandbox) gives its side in that transaction too. A remote one (Stripe) is asked only after
//! it commits, so a payment that loses a race gets 409 and no provider intent is ever created
//! for it; a second transaction stores Stripe's side, and a provider that refuses fails the
//! payment, which releases the hold.

use chrono::Duration;
use tablepay_domain::ledger::{ItemRequest, MAX_ITEMS_IN_SPLIT, MAX_PARTS, PricedSplit, SplitRefusal, SplitRequest};
use tablepay_domain::{ChargeError, ItemId, MinorUnit, PaymentId, PaymentStatus, SplitError, Tip};
use tablepay_payments::{CreatePayment, ProviderError};
use tablepay_store::bills::BillRecord;
use tablepay_store::idempotency as records;
use tablepay_store::payments::{self as stored, PaymentChanges};
use tablepay_store::rows::{DiningTable, Payment, PaymentItem, Venue};
use tablepay_store::{DbConn, Store, lock_bill, now};

use crate::app::events;
use crate::app::guest::table_by_token;
use crate::app::outcomes::{bump_bill, lock_payment, transition};
use crate::app::providers::Providers;
use crate::app::unlocked::{self, Attempt};
use crate::app::{AppError, AppResult, Code};
use crate::billing::{Audience, BillRecordExt, currency};

/// What a guest asks to pay, parsed at the HTTP edge.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The table whose QR code the guest holds: only its bills can be paid.
    pub table_id: String,
    pub bill_id: String,
    /// The bill's `version` as the guest last saw it: a payment made on a bill whose content
    /// changed since is refused with `bill_changed`.
    pub bill_version: Option<i64>,
    /// Item ids as the guest sent them: they are read under the lock, after the bill's own
    /// refusals (a closed bill is reported as closed whatever the split names).
    pub split: SplitRequest,
    pub tip: Option<Tip>,
    pub email: Option<String>,
    pub idempotency_key: Option<String>,
    /// The request's digest: a key reused for another request is refused.
    pub fingerprint: String,
    /// How long the part stays held for this guest.
    pub hold: Duration,
}

/// The table behind a QR token, read on its own (see [`table_by_token`]): a guest's request
/// names it before anything else.
pub async fn guest_table(store: &Store, qr_token: String) -> AppResult<(DiningTable, Venue)> {
    store.run(move |conn| table_by_token(conn, &qr_token)).await
}

/// A payment of the table behind `qr_token`, with its parts; 404 for any other.
pub async fn table_payment(
    store: &Store,
    qr_token: String,
    payment_id: String,
) -> AppResult<(Payment, Vec<PaymentItem>)> {
    let (_, _, payment, parts) = store.run(move |conn| guest_payment(conn, &qr_token, &payment_id)).await?;
    Ok((payment, parts))
}

/// The table behind `qr_token`, its venue, and a payment of it with its parts. The token is
/// read first, so a bad token is reported before a bad payment id.
pub(crate) fn guest_payment(
    conn: &mut DbConn,
    qr_token: &str,
    payment_id: &str,
) -> AppResult<(DiningTable, Venue, Payment, Vec<PaymentItem>)> {
    let (table, venue) = table_by_token(conn, qr_token)?;
    let payment_id = PaymentId::parse(payment_id).map_err(|e| AppError::NotFound(e.what))?;
    let (payment, parts) =
        stored::at_table_with_parts(conn, payment_id.as_str(), &table.id)?.ok_or(AppError::NotFound("payment"))?;
    Ok((table, venue, payment, parts))
}

/// The client's `Idempotency-Key` record, kept in the transactions that create the payment
/// rather than in transactions of its own: stored with its answer beside a payment the
/// provider needs no call for, or taken with the payment and answered with the provider's side.
#[derive(Clone)]
pub struct AnswerKey {
    pub scope: String,
    pub key: String,
    /// The digest of the HTTP request (method, path, body).
    pub fingerprint: String,
    /// A record past its retention or abandoned by a dead process was found: it goes first.
    pub take_over: bool,
    /// How long a record in flight belongs to the request that took it; older, its process died.
    pub in_flight_lease: chrono::Duration,
    /// The answer to replay for this payment: HTTP status and JSON body.
    pub answer: Answer,
}

/// Makes the answer to replay for a payment: HTTP status and JSON body.
pub type Answer = std::sync::Arc<dyn Fn(&Payment, &[PaymentItem]) -> AppResult<(i32, String)> + Send + Sync>;

/// A payment as [`create`] leaves it.
#[derive(Debug)]
pub struct Created {
    pub payment: Payment,
    pub parts: Vec<PaymentItem>,
    /// An earlier request with the same key made it.
    pub replayed: bool,
}

/// Creates a payment (or finds the one this `Idempotency-Key` created) and makes sure the
/// provider has its side of it. One write transaction when the provider needs no remote call
/// (the sandbox): the bill's lock, pricing, the payment and its parts, `bill.updated` and the
/// key's answer. A remote provider (Stripe) is asked after that commits, and a second
/// transaction stores its side.
pub async fn create(
    store: &Store,
    providers: &Providers,
    request: Checkout,
    key: Option<AnswerKey>,
) -> AppResult<Created> {
    let unlocked = unlocked::attempts(|| hold_unlocked(store, providers, request.clone(), key.clone())).await?;
    let (created, key) = match unlocked {
        Some(held) => held,
        None => {
            let registry = providers.clone();
            store
                .write(move |conn| -> AppResult<_> {
                    tablepay_store::changes::keeps_tables();
                    let created = hold_part(conn, &registry, request)?;
                    let key = match key {
                        Some(key) if created.replayed => replayed_key(conn, &created, key)?,
                        Some(key) => record_key(conn, &created, key)?,
                        None => None,
                    };
                    Ok((created, key))
                })
                .await?
        }
    };
    if created.payment.provider_ref.is_some() || created.payment.status != PaymentStatus::Pending {
        return Ok(created);
    }
    ensure_provider_payment(store, providers, created, key).await
}

/// The key of a request that found the payment an earlier one with the same key made. While
/// that request still runs (its record in flight), 409 `idempotency_key_in_use`: it is asking
/// the provider, and asking twice would only fail. A record abandoned by a dead process, or
/// none at all (the earlier request failed after the payment was made), is taken over by this
/// request, which then finishes the payment.
fn replayed_key(conn: &mut DbConn, created: &Created, key: AnswerKey) -> AppResult<Option<AnswerKey>> {
    match records::find(conn, &key.scope, &key.key)? {
        None => record_key(conn, created, key),
        Some(record) if record.abandoned(now(), key.in_flight_lease) => {
            record_key(conn, created, AnswerKey { take_over: true, ..key })
        }
        Some(record) if record.in_flight => Err(AppError::key_in_use()),
        Some(_) => Ok(None),
    }
}

/// Takes the key with the new payment: answered at once when the provider's side is already
/// there; otherwise in flight, and handed back to be answered with it.
fn record_key(conn: &mut DbConn, created: &Created, key: AnswerKey) -> AppResult<Option<AnswerKey>> {
    if key.take_over {
        records::forget(conn, &key.scope, &key.key)?;
    }
    let (payment, now) = (&created.payment, created.payment.created_at);
    let taken = if payment.provider_ref.is_some() {
        let (status, body) = (key.answer)(payment, &created.parts)?;
        records::claim_answered(conn, &key.scope, &key.key, &key.fingerprint, now, (status, &body))?
    } else {
        records::claim(conn, &key.scope, &key.key, &key.fingerprint, now)?
    };
    if !taken {
        return Err(AppError::key_in_use());
    }
    Ok(payment.provider_ref.is_none().then_some(key))
}

/// Step one without the bill's lock: the split priced on the bill as committed, and held in a
/// transaction that commits only if the bill has not moved since. [`Attempt::Locked`] when this
/// key made a payment before, for a new equal split and for any refusal: those are answered
/// under the lock.
async fn hold_unlocked(
    store: &Store,
    providers: &Providers,
    request: Checkout,
    key: Option<AnswerKey>,
) -> AppResult<Attempt<(Created, Option<AnswerKey>)>> {
    let bill_id = request.bill_id.clone();
    let read = store.read_committed(move |conn, committed| -> AppResult<_> { Ok(committed.bill(conn, &bill_id)?) });
    let Some(record) = read.await? else { return Ok(Attempt::Locked) };
    if record.bill.table_id != request.table_id {
        return Ok(Attempt::Locked);
    }
    let Ok((payment, priced)) = price_hold(&record, providers, &request) else { return Ok(Attempt::Locked) };
    if priced.equal.is_some_and(|e| e.new_split) {
        return Ok(Attempt::Locked);
    }
    // Everything but the writing is done before the transaction: on SQLite one transaction
    // writes at a time, so what it does beyond writing makes every payment wait.
    let version = record.bill.version;
    let parts = parts_of(&payment, &priced);
    let mut after = record;
    held(&mut after, &payment, &parts);
    let updated = events::bill_event_of(&after, "bill.updated")?;
    let created = Created { payment, parts, replayed: false };
    let held = store
        .write(move |conn| -> AppResult<_> {
            // Touches nothing a guest sees unless it writes the payment, with its event; never
            // a table.
            tablepay_store::changes::touches_no_guest_view();
            tablepay_store::changes::keeps_tables();
            let payment = &created.payment;
            if let Some(key) = &payment.idempotency_key
                && stored::find_by_idempotency_key(conn, &payment.bill_id, key)?.is_some()
            {
                return Ok(Attempt::Locked);
            }
            if !tablepay_store::bills::advance(conn, &payment.bill_id, version, payment.created_at)? {
                return Ok(Attempt::Moved);
            }
            stored::insert(conn, payment, &created.parts)?;
            events::append(conn, updated)?;
            let key = match key {
                Some(key) => record_key(conn, &created, key)?,
                None => None,
            };
            Ok(Attempt::Done((created, key)))
        })
        .await?;
    if matches!(held, Attempt::Done(_)) {
        store.remember_bill(after);
    }
    Ok(held)
}

/// Step one, under the bill's lock: price the split and hold it with a pending payment, with
/// the provider's side when it needs no remote call.
fn hold_part(conn: &mut DbConn, providers: &Providers, request: Checkout) -> AppResult<Created> {
    let record = locked_bill(conn, &request.bill_id, &request.table_id)?;
    if let Some(key) = &request.idempotency_key
        && let Some(existing) = stored::find_by_idempotency_key(conn, &request.bill_id, key)?
    {
        if existing.request_fingerprint.as_deref() != Some(request.fingerprint.as_str()) {
            return Err(AppError::KeyReused);
        }
        let (payment, parts) =
            stored::with_parts(conn, &existing.id)?.ok_or_else(|| AppError::internal("payment vanished"))?;
        return Ok(Created { payment, parts, replayed: true });
    }
    let (payment, priced) = price_hold(&record, providers, &request)?;
    let (payment, parts) = store_hold(conn, record, payment, &priced)?;
    Ok(Created { payment, parts, replayed: false })
}

/// The pending payment a request makes of the bill `record` (with the provider's side when it
/// needs no remote call), and the split as priced; or why the bill refuses it.
fn price_hold(record: &BillRecord, providers: &Providers, request: &Checkout) -> AppResult<(Payment, PricedSplit)> {
    if !record.bill.status.accepts_payments() {
        return Err(AppError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)));
    }
    if let Some(seen) = request.bill_version
        && (seen < record.bill.content_version || seen > record.bill.version)
    {
        let view = serde_json::to_value(record.view(Audience::Guest)?)
            .map_err(|e| AppError::internal(format!("guest view: {e}")))?;
        return Err(AppError::BillChanged(Box::new(view)));
    }
    let split = canonical_split(&request.split)?;
    let ledger = record.state()?;
    let priced = ledger.price_split(&split).map_err(refusal)?;
    let currency = currency(&record.venue)?;
    let provider = providers.get(&record.venue.payment_provider)?;
    let rules = provider.charge_rules(currency.code(), currency.exponent());
    let tip = match request.tip {
        Some(t) => t.amount(priced.amount).map_err(|_| AppError::invalid("tip out of range"))?,
        None => MinorUnit::ZERO,
    };
    let charged = tablepay_domain::charge(rules, priced.amount, tip, ledger.remaining())
        .map_err(|e| charge_refusal(e, currency, provider.name()))?;
    let now = now();
    let payment = Payment {
        id: tablepay_store::new_id(),
        venue_id: record.venue.id.clone(),
        bill_id: record.bill.id.clone(),
        status: PaymentStatus::Pending,
        split_type: split.kind(),
        amount: priced.amount.get(),
        tip_amount: charged.tip.get(),
        refunded_amount: 0,
        currency: currency.code().into(),
        provider: provider.name().into(),
        provider_ref: None,
        client_secret: None,
        failure_code: None,
        email: request.email.clone(),
        equal_parts: priced.equal.map(|e| e.parts as i32),
        equal_count: priced.equal.map(|e| e.count as i32),
        server_id: record.bill.server_id.clone(),
        idempotency_key: request.idempotency_key.clone(),
        request_fingerprint: Some(request.fingerprint.clone()),
        expires_at: now + request.hold,
        created_at: now,
        updated_at: now,
        succeeded_at: None,
        split_round: record.bill.split_round,
    };
    let payment = match provider.create_locally(&provider_request(&payment)) {
        Some(side) => Payment { provider_ref: Some(side.provider_ref), client_secret: side.client_secret, ..payment },
        None => payment,
    };
    Ok((payment, priced))
}

/// What the provider is asked to collect for `payment`.
fn provider_request(payment: &Payment) -> CreatePayment {
    CreatePayment {
        payment_id: payment.id.clone(),
        venue_id: payment.venue_id.clone(),
        bill_id: payment.bill_id.clone(),
        amount: payment.amount + payment.tip_amount,
        currency: payment.currency.clone(),
        idempotency_key: format!("tablepay-payment-{}", payment.id),
    }
}

/// The bill `bill_id` of table `table_id`, locked until the transaction ends; 404 otherwise.
fn locked_bill(conn: &mut DbConn, bill_id: &str, table_id: &str) -> AppResult<BillRecord> {
    if !lock_bill(conn, bill_id)? {
        return Err(AppError::NotFound("bill"));
    }
    let record = tablepay_store::bills::load(conn, bill_id)?.ok_or(AppError::NotFound("bill"))?;
    if record.bill.table_id != table_id {
        return Err(AppError::NotFound("bill"));
    }
    Ok(record)
}

/// Stores the pending payment with the parts it takes, starts the bill's equal split with its
/// first share (or over, with another number of parts), and tells the table.
/// `bill.updated` is written from the bill as the transaction holds it (`record`, read under
/// the lock, with what this function changed), not read again.
fn store_hold(
    conn: &mut DbConn,
    mut record: BillRecord,
    mut payment: Payment,
    priced: &PricedSplit,
) -> AppResult<(Payment, Vec<PaymentItem>)> {
    if let Some(equal) = priced.equal.filter(|e| e.new_split) {
        payment.split_round = tablepay_store::bills::start_split(conn, &payment.bill_id, equal.parts as i32)?;
        record.bill.equal_parts = Some(equal.parts as i32);
        record.bill.split_round = payment.split_round;
    }
    let parts = parts_of(&payment, priced);
    stored::insert(conn, &payment, &parts)?;
    bump_bill(conn, &payment.bill_id, payment.created_at)?;
    held(&mut record, &payment, &parts);
    events::bill_event(conn, &record, "bill.updated")?;
    Ok((payment, parts))
}

/// The bill as a new hold leaves it: at its next version, with the payment and its parts.
fn held(record: &mut BillRecord, payment: &Payment, parts: &[PaymentItem]) {
    record.bump(payment.created_at);
    record.payments.push(payment.clone());
    record.parts.extend(parts.iter().cloned());
    record.sort();
}

/// The item parts `payment` takes, as priced.
fn parts_of(payment: &Payment, priced: &PricedSplit) -> Vec<PaymentItem> {
    priced
        .parts
        .iter()
        .map(|p| PaymentItem {
            payment_id: payment.id.clone(),
            item_id: p.item_id.clone(),
            bill_id: payment.bill_id.clone(),
            fraction_num: p.fraction.num,
            fraction_den: p.fraction.den,
            amount: p.amount.get(),
        })
        .collect()
}

/// The split with its item ids in canonical form; an id that is no id names no line.
fn canonical_split(split: &SplitRequest) -> AppResult<SplitRequest> {
    let SplitRequest::Items(items) = split else { return Ok(split.clone()) };
    let items = items
        .iter()
        .enumerate()
        .map(|(i, claim)| {
            let item_id = ItemId::parse(&claim.item_id)
                .map_err(|_| AppError::invalid(format!("split.items[{i}].item_id is not on this bill")))?;
            Ok(ItemRequest { item_id: item_id.into_inner(), ..claim.clone() })
        })
        .collect::<AppResult<_>>()?;
    Ok(SplitRequest::Items(items))
}

fn exceeds(detail: impl Into<String>) -> AppError {
    AppError::conflict(Code::AmountExceedsRemaining, detail)
}

/// The answer to a split the ledger refuses.
fn refusal(refusal: SplitRefusal) -> AppError {
    match refusal {
        SplitRefusal::AmountBelowOne => AppError::invalid("split.amount must be at least 1"),
        SplitRefusal::PartsOutOfRange => AppError::invalid(format!("split.parts must be from 2 to {MAX_PARTS}")),
        SplitRefusal::CountOutOfRange => AppError::invalid("split.count must be from 1 to split.parts"),
        SplitRefusal::ItemCount => AppError::invalid(format!("split.items must name 1 to {MAX_ITEMS_IN_SPLIT} items")),
        SplitRefusal::ItemTwice { index } => AppError::invalid(format!("split.items[{index}] names an item twice")),
        SplitRefusal::NotAnActiveItem { index } => {
            AppError::invalid(format!("split.items[{index}].item_id is not an active item of this bill"))
        }
        SplitRefusal::BadItemPart { index, quantity } => AppError::invalid(format!(
            "split.items[{index}] takes either a quantity from 1 to {quantity} or a share of 2 to {MAX_PARTS} parts"
        )),
        SplitRefusal::NotAPart { index } => {
            AppError::invalid(format!("split.items[{index}] is not a part of the item"))
        }
        SplitRefusal::CostsNothing => AppError::invalid("those items cost nothing; there is nothing to pay"),
        SplitRefusal::Overflow | SplitRefusal::Taken(SplitError::Overflow) => AppError::invalid("amount out of range"),
        SplitRefusal::NothingRemains => exceeds("nothing remains to be paid; other payments may still be pending"),
        SplitRefusal::AmountExceeds { remaining } => exceeds(format!("only {} remains to be paid", remaining.get())),
        SplitRefusal::ItemsExceed { cost, remaining } => {
            exceeds(format!("those items cost {} but only {} remains to be paid", cost.get(), remaining.get()))
        }
        SplitRefusal::SplitInProgress { parts } => AppError::conflict(
            Code::SplitInProgress,
            format!(
                "this bill is being split in {parts} equal shares: pay one or more of them, or everything left \
                 (another number of parts starts the split over once no share is held)"
            ),
        ),
        SplitRefusal::Taken(SplitError::ItemUnavailable) => {
            AppError::conflict(Code::ItemsUnavailable, "part of those items is already paid or held by another guest")
        }
        SplitRefusal::Taken(SplitError::SharesUnavailable) => exceeds("those equal shares are already paid or held"),
        SplitRefusal::Taken(SplitError::ExceedsRemaining) => exceeds("the amount exceeds what remains to be paid"),
    }
}

/// The answer to a part the provider cannot charge.
fn charge_refusal(err: ChargeError, currency: tablepay_domain::Currency, provider: &str) -> AppError {
    match err {
        ChargeError::BelowMinimum { charge, minimum } => AppError::invalid(format!(
            "{} is below the smallest charge {provider} accepts ({}); add a tip or pay a larger part",
            currency.format(charge),
            currency.format(minimum)
        )),
        ChargeError::LeavesTooLittle { left, .. } => AppError::invalid(format!(
            "this would leave {}, less than the smallest charge {provider} accepts; pay the remaining amount instead",
            currency.format(left),
        )),
        ChargeError::Overflow => {
            AppError::invalid("the payment with its tip would exceed 9007199254740991 minor units")
        }
    }
}

/// Step two, for a remote provider: asks it for its side of the pending payment, and stores
/// that side with the key's answer. Idempotent by our payment id, so a retry after a timeout
/// finds the intent the first attempt created. A key left in flight by a failure is settled
/// by the caller.
async fn ensure_provider_payment(
    store: &Store,
    providers: &Providers,
    created: Created,
    key: Option<AnswerKey>,
) -> AppResult<Created> {
    let provider = providers.get(&created.payment.provider)?;
    let id = created.payment.id.clone();
    match provider.create_payment(provider_request(&created.payment)).await {
        Ok(side) => {
            store
                .write(move |conn| -> AppResult<Created> {
                    tablepay_store::changes::keeps_tables();
                    let now = now();
                    let changes =
                        PaymentChanges::at(now).provider_side(&side.provider_ref, side.client_secret.as_deref());
                    stored::update(conn, &id, &changes)?;
                    // Read again: the guest or the sweeper may have released it meanwhile, a
                    // merge moved it to another bill.
                    let payment = stored::get(conn, &id)?;
                    bump_bill(conn, &payment.bill_id, now)?;
                    if let Some(key) = key {
                        let (status, body) = (key.answer)(&payment, &created.parts)?;
                        records::complete(conn, &key.scope, &key.key, status, &body)?;
                    }
                    Ok(Created { payment, ..created })
                })
                .await
        }
        Err(ProviderError::Rejected(reason)) => {
            tracing::warn!(payment = %id, %reason, "provider rejected the payment");
            store
                .write(move |conn| -> AppResult<()> {
                    let payment = lock_payment(conn, &id)?;
                    if payment.status == PaymentStatus::Pending {
                        transition(conn, &payment, PaymentStatus::Failed, Some("provider_rejected"), now())?;
                    }
                    Ok(())
                })
                .await?;
            Err(AppError::ProviderRejected(format!("the payment provider refused the payment: {reason}")))
        }
        Err(ProviderError::Unavailable(reason)) => {
            tracing::warn!(payment = %id, %reason, "provider unavailable while creating a payment");
            Err(AppError::ProviderUnavailable(
                "the payment provider did not answer; retry with the same Idempotency-Key".into(),
            ))
        }
    }
}

/// Releases a pending payment's hold at the guest's request. The provider's side is
/// cancelled first, so a payment the guest completed meanwhile is not released; a payment
/// already cancelled answers as it stands.
pub async fn cancel(
    store: &Store,
    providers: &Providers,
    qr_token: String,
    payment_id: String,
) -> AppResult<(Payment, Vec<PaymentItem>)> {
    let (payment, _) = table_payment(store, qr_token, payment_id).await?;
    let status = payment.status;
    if status == PaymentStatus::Pending {
        if let Some(reference) = &payment.provider_ref {
            let provider = providers.get(&payment.provider)?;
            provider.cancel_payment(reference).await.map_err(|e| match e {
                ProviderError::Rejected(reason) => {
                    AppError::conflict(Code::Conflict, format!("the provider cannot cancel it: {reason}"))
                }
                ProviderError::Unavailable(_) => {
                    AppError::ProviderUnavailable("the payment provider did not answer; retry".into())
                }
            })?;
        }
    } else if status != PaymentStatus::Canceled {
        return Err(not_cancellable(status));
    }
    store
        .write(move |conn| -> AppResult<_> {
            lock_payment(conn, &payment.id)?;
            let (current, parts) = stored::with_parts(conn, &payment.id)?.ok_or(AppError::NotFound("payment"))?;
            match current.status {
                PaymentStatus::Pending => transition(conn, &current, PaymentStatus::Canceled, None, now())?,
                PaymentStatus::Canceled => {}
                other => return Err(not_cancellable(other)),
            }
            Ok((stored::get(conn, &payment.id)?, parts))
        })
        .await
}

fn not_cancellable(status: PaymentStatus) -> AppError {
    AppError::conflict(Code::Conflict, format!("the payment is {}; it cannot be cancelled", status.as_str()))
}
