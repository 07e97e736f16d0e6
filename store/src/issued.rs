//! Documents a venue issues for a payment: receipt numbers, sequential per venue, and
//! invoices, numbered without gaps per venue. A number is taken from the venue's counter in
//! the transaction that stores what carries it, with the venue's row locked: two requests at
//! once wait for each other, and a transaction that rolls back gives its number back.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::rows::Invoice;
use crate::schema::{invoices, receipts, venues};
use crate::{DbConn, StoreResult};

/// The receipt a payment was issued, if it was: its number and what it itemised.
pub fn receipt_of(conn: &mut DbConn, payment_id: &str) -> StoreResult<Option<(i64, String)>> {
    Ok(receipts::table.find(payment_id).select((receipts::number, receipts::body)).first(conn).optional()?)
}

/// The payment's receipt, issued now with the venue's next number and `body`, unless it was
/// issued before (then as it was issued). Run in a write transaction.
pub fn number_receipt(
    conn: &mut DbConn,
    venue_id: &str,
    payment_id: &str,
    body: &str,
    now: NaiveDateTime,
) -> StoreResult<(i64, String)> {
    crate::changes::touches_no_guest_view();
    lock_venue(conn, venue_id)?;
    if let Some(issued) = receipt_of(conn, payment_id)? {
        return Ok(issued);
    }
    diesel::update(venues::table.find(venue_id)).set(venues::receipt_seq.eq(venues::receipt_seq + 1)).execute(conn)?;
    let number: i64 = venues::table.find(venue_id).select(venues::receipt_seq).first(conn)?;
    diesel::insert_into(receipts::table)
        .values((
            receipts::payment_id.eq(payment_id),
            receipts::venue_id.eq(venue_id),
            receipts::number.eq(number),
            receipts::issued_at.eq(now),
            receipts::body.eq(body),
        ))
        .execute(conn)?;
    Ok((number, body.to_owned()))
}

/// The invoice issued for a payment, if one was.
pub fn invoice_of_payment(conn: &mut DbConn, payment_id: &str) -> StoreResult<Option<Invoice>> {
    Ok(invoices::table
        .filter(invoices::payment_id.eq(payment_id))
        .select(Invoice::as_select())
        .first(conn)
        .optional()?)
}

/// What [`issue_invoice`] found or did.
#[derive(Debug)]
pub enum Issued {
    /// Stored now, with the venue's next number.
    New(Invoice),
    /// The payment already had this invoice; nothing was stored.
    Existing(Invoice),
}

/// Stores `invoice` with the venue's next invoice number, unless the payment already has an
/// invoice (returned as it is: the caller decides whether it is the same). Run in a write
/// transaction; `invoice.number` is ignored.
pub fn issue_invoice(conn: &mut DbConn, mut invoice: Invoice) -> StoreResult<Issued> {
    crate::changes::touches_no_guest_view();
    lock_venue(conn, &invoice.venue_id)?;
    if let Some(existing) = invoice_of_payment(conn, &invoice.payment_id)? {
        return Ok(Issued::Existing(existing));
    }
    diesel::update(venues::table.find(&invoice.venue_id))
        .set(venues::invoice_seq.eq(venues::invoice_seq + 1))
        .execute(conn)?;
    invoice.number = venues::table.find(&invoice.venue_id).select(venues::invoice_seq).first(conn)?;
    diesel::insert_into(invoices::table).values(&invoice).execute(conn)?;
    Ok(Issued::New(invoice))
}

/// Holds the venue's row until the transaction ends (on SQLite the write transaction already
/// holds the whole database).
fn lock_venue(conn: &mut DbConn, venue_id: &str) -> StoreResult<()> {
    diesel::update(venues::table.find(venue_id)).set(venues::receipt_seq.eq(venues::receipt_seq)).execute(conn)?;
    Ok(())
}

/// Receipts to e-mail: the mail worker's outbox.
pub mod mail {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;

    use crate::rows::Email;
    use crate::schema::emails;
    use crate::{DbConn, StoreResult};

    /// Queues a receipt to send. Run in the transaction that decided to send it.
    pub fn enqueue(conn: &mut DbConn, email: &Email) -> StoreResult<()> {
        diesel::insert_into(emails::table).values(email).execute(conn)?;
        crate::changes::touches_no_guest_view();
        Ok(())
    }

    pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Email>> {
        Ok(emails::table.find(id).select(Email::as_select()).first(conn).optional()?)
    }

    /// The e-mail a request with this `Idempotency-Key` queued for the payment, if any.
    pub fn by_request_key(conn: &mut DbConn, payment_id: &str, key: &str) -> StoreResult<Option<Email>> {
        Ok(emails::table
            .filter(emails::payment_id.eq(payment_id))
            .filter(emails::request_key.eq(key))
            .select(Email::as_select())
            .first(conn)
            .optional()?)
    }

    /// How many e-mails of this payment's receipt were asked for.
    pub fn count_of_payment(conn: &mut DbConn, payment_id: &str) -> StoreResult<i64> {
        Ok(emails::table.filter(emails::payment_id.eq(payment_id)).count().get_result(conn)?)
    }

    /// The e-mail of this payment's receipt to `recipient` still waiting to be sent, if any.
    pub fn pending_to(conn: &mut DbConn, payment_id: &str, recipient: &str) -> StoreResult<Option<Email>> {
        Ok(emails::table
            .filter(emails::payment_id.eq(payment_id))
            .filter(emails::recipient.eq(recipient))
            .filter(emails::status.eq("pending"))
            .select(Email::as_select())
            .first(conn)
            .optional()?)
    }

    /// Leases up to `limit` e-mails due at `now` to `token` until `until`, and returns them.
    /// Run in a write transaction: a row leased by another process is not taken (on PostgreSQL
    /// the update waits for the other claim and then finds the row leased).
    pub fn claim_due(
        conn: &mut DbConn,
        now: NaiveDateTime,
        limit: i64,
        token: &str,
        until: NaiveDateTime,
    ) -> StoreResult<Vec<Email>> {
        crate::changes::touches_no_guest_view();
        let free = emails::locked_until.is_null().or(emails::locked_until.lt(now));
        let due: Vec<String> = emails::table
            .filter(emails::status.eq("pending"))
            .filter(emails::next_attempt_at.le(now))
            .filter(free)
            .order(emails::next_attempt_at.asc())
            .limit(limit)
            .select(emails::id)
            .load(conn)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(emails::table.filter(emails::id.eq_any(&due)).filter(emails::status.eq("pending")).filter(free))
            .set((emails::locked_until.eq(until), emails::lock_token.eq(token)))
            .execute(conn)?;
        Ok(emails::table.filter(emails::lock_token.eq(token)).select(Email::as_select()).load(conn)?)
    }

    /// When the next pending e-mail can be claimed (due, and its lease, if any, run out).
    pub fn next_due(conn: &mut DbConn) -> StoreResult<Option<NaiveDateTime>> {
        let pending: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = emails::table
            .filter(emails::status.eq("pending"))
            .order(emails::next_attempt_at.asc())
            .select((emails::next_attempt_at, emails::locked_until))
            .limit(100)
            .load(conn)?;
        Ok(pending.into_iter().map(|(due, lease)| lease.map_or(due, |l| l.max(due))).min())
    }

    /// What an attempt came to: `sent`, `failed` for good, or `pending` again at `retry_at`.
    pub struct Attempted<'a> {
        pub status: &'a str,
        pub error: Option<&'a str>,
        pub retry_at: Option<NaiveDateTime>,
        pub at: NaiveDateTime,
    }

    /// Records an attempt of an e-mail still leased under `token`; false when the lease was
    /// lost (another process's attempt counts instead).
    pub fn record(conn: &mut DbConn, id: &str, token: &str, attempt: &Attempted<'_>) -> StoreResult<bool> {
        crate::changes::touches_no_guest_view();
        let changed = diesel::update(emails::table.find(id).filter(emails::lock_token.eq(token)))
            .set((
                emails::status.eq(attempt.status),
                emails::attempts.eq(emails::attempts + 1),
                emails::last_error.eq(attempt.error),
                emails::next_attempt_at.eq(attempt.retry_at.unwrap_or(attempt.at)),
                emails::locked_until.eq(None::<NaiveDateTime>),
                emails::lock_token.eq(None::<String>),
                emails::sent_at.eq((attempt.status == "sent").then_some(attempt.at)),
            ))
            .execute(conn)?;
        Ok(changed == 1)
    }
}
