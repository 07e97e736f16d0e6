//! Comps and discounts as stored: the request (`adjustments`) and, once applied, how it lowers
//! each line of the bill (`adjustment_lines`). The bill's own read ([`crate::bills::load`])
//! brings both along with the bill.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::AdjustmentStatus;

use crate::rows::{Adjustment, AdjustmentLine};
use crate::schema::{adjustment_lines, adjustments};
use crate::{DbConn, StoreError, StoreResult};

/// A manager's decision on a pending adjustment.
#[derive(Debug, Clone)]
pub struct AdjustmentDecision<'a> {
    pub status: AdjustmentStatus,
    pub approved_by_id: &'a str,
    pub approved_by_name: &'a str,
    pub decided_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Adjustment>> {
    Ok(adjustments::table.find(id).select(Adjustment::as_select()).first(conn).optional()?)
}

pub fn insert(conn: &mut DbConn, adjustment: &Adjustment) -> StoreResult<()> {
    diesel::insert_into(adjustments::table).values(adjustment.clone()).execute(conn)?;
    Ok(())
}

/// Records how an applied adjustment lowers the bill's lines, in one statement.
pub fn insert_lines(conn: &mut DbConn, lines: &[AdjustmentLine]) -> StoreResult<()> {
    crate::batch_insert!(conn, adjustment_lines::table, lines.to_vec());
    Ok(())
}

pub fn record_decision(conn: &mut DbConn, id: &str, decision: &AdjustmentDecision<'_>) -> StoreResult<()> {
    diesel::update(adjustments::table.find(id))
        .set((
            adjustments::status.eq(decision.status.as_str()),
            adjustments::approved_by_id.eq(decision.approved_by_id),
            adjustments::approved_by_name.eq(decision.approved_by_name),
            adjustments::decided_at.eq(decision.decided_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Runs `f` inside a savepoint that is always rolled back, and answers what `f` answered:
/// whether a change would succeed, leaving nothing of it behind (a request that could never
/// be approved is refused when made). Must run inside a transaction.
pub fn dry_run<T, E: From<StoreError>>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
    let mut outcome = None;
    // The events `f` appends are held to the end of the transaction: forgotten with the rest.
    let savepoint = crate::outbox::forgetting(|| {
        conn.transaction::<(), diesel::result::Error, _>(|c| {
            outcome = Some(f(c));
            Err(diesel::result::Error::RollbackTransaction)
        })
    });
    match (outcome, savepoint) {
        (_, Err(e)) if !matches!(e, diesel::result::Error::RollbackTransaction) => Err(StoreError::from(e).into()),
        (Some(outcome), _) => outcome,
        (None, _) => Err(StoreError::corrupt("the savepoint ran nothing").into()),
    }
}
