//! Documents a venue issues for a payment: receipt numbers, sequential per venue, and
//! invoices, numbered without gaps per venue. A number is taken from the venue's counter in
//! the transaction that stores what carries it, with the venue's row locked: two requests at
//! once wait for each other, and a transaction that rolls back gives its number back.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::rows::Invoice;
use crate::schema::{invoices, receipts, venues};
use crate::{DbConn, StoreResult};

/// The receipt number a payment was given, if it was.
pub fn receipt_number(conn: &mut DbConn, payment_id: &str) -> StoreResult<Option<i64>> {
    Ok(receipts::table.find(payment_id).select(receipts::number).first(conn).optional()?)
}

/// The payment's receipt number, given now (the venue's next) unless it has one. Run in a
/// write transaction.
pub fn number_receipt(conn: &mut DbConn, venue_id: &str, payment_id: &str, now: NaiveDateTime) -> StoreResult<i64> {
    lock_venue(conn, venue_id)?;
    if let Some(number) = receipt_number(conn, payment_id)? {
        return Ok(number);
    }
    diesel::update(venues::table.find(venue_id)).set(venues::receipt_seq.eq(venues::receipt_seq + 1)).execute(conn)?;
    let number: i64 = venues::table.find(venue_id).select(venues::receipt_seq).first(conn)?;
    diesel::insert_into(receipts::table)
        .values((
            receipts::payment_id.eq(payment_id),
            receipts::venue_id.eq(venue_id),
            receipts::number.eq(number),
            receipts::issued_at.eq(now),
        ))
        .execute(conn)?;
    crate::changes::touches_no_guest_view();
    Ok(number)
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
    lock_venue(conn, &invoice.venue_id)?;
    if let Some(existing) = invoice_of_payment(conn, &invoice.payment_id)? {
        return Ok(Issued::Existing(existing));
    }
    diesel::update(venues::table.find(&invoice.venue_id))
        .set(venues::invoice_seq.eq(venues::invoice_seq + 1))
        .execute(conn)?;
    invoice.number = venues::table.find(&invoice.venue_id).select(venues::invoice_seq).first(conn)?;
    diesel::insert_into(invoices::table).values(&invoice).execute(conn)?;
    crate::changes::touches_no_guest_view();
    Ok(Issued::New(invoice))
}

/// Holds the venue's row until the transaction ends (on SQLite the write transaction already
/// holds the whole database).
fn lock_venue(conn: &mut DbConn, venue_id: &str) -> StoreResult<()> {
    diesel::update(venues::table.find(venue_id)).set(venues::receipt_seq.eq(venues::receipt_seq)).execute(conn)?;
    Ok(())
}
