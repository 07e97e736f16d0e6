//! Tenders as stored: money taken outside tablepay (cash, the venue's card terminal, a
//! voucher) and recorded on a bill, and their voiding.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::TenderStatus;

use crate::rows::Tender;
use crate::schema::tenders;
use crate::{DbConn, StoreResult};

pub fn insert(conn: &mut DbConn, tender: &Tender) -> StoreResult<()> {
    diesel::insert_into(tenders::table).values(tender.clone()).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Tender>> {
    Ok(tenders::table.find(id).select(Tender::as_select()).first(conn).optional()?)
}

/// Voids a recorded tender; false when it was void already.
pub fn void(conn: &mut DbConn, id: &str, reason: &str, by: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let moved = diesel::update(tenders::table.find(id).filter(tenders::status.eq(TenderStatus::Recorded.as_str())))
        .set((
            tenders::status.eq(TenderStatus::Void.as_str()),
            tenders::void_reason.eq(reason),
            tenders::voided_by_name.eq(by),
            tenders::voided_at.eq(now),
        ))
        .execute(conn)?;
    Ok(moved == 1)
}
