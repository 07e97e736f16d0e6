//! The audit log: append-only, one entry for every action staff take on money or people.

use serde_json::Value;

use crate::app::access::VenueCaller;
use tablepay_store::new_id;
use tablepay_store::rows::AuditEntry;
use tablepay_store::{DbConn, StoreResult, now};

/// What happened, besides who did it.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub bill_id: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub amount: Option<i64>,
    pub reason: Option<&'a str>,
    pub approved_by: Option<&'a str>,
    pub details: Value,
}

/// Appends an entry. Call inside the transaction of the action, so both or neither stay.
/// Answers the store's error, which both the use cases' and the handlers' errors take.
pub fn record(conn: &mut DbConn, actor: &VenueCaller, entry: Entry<'_>) -> StoreResult<()> {
    let row = AuditEntry {
        id: new_id(),
        venue_id: actor.venue_id.clone().into(),
        at: now(),
        actor_id: actor.actor_id().to_owned(),
        actor_name: actor.actor_name().to_owned(),
        actor_role: actor.role,
        action: entry.action.to_owned(),
        bill_id: entry.bill_id.map(str::to_owned),
        subject_id: entry.subject_id.map(str::to_owned),
        amount: entry.amount,
        reason: entry.reason.map(str::to_owned),
        approved_by: entry.approved_by.map(str::to_owned),
        details: if entry.details.is_null() { "{}".to_owned() } else { entry.details.to_string() },
    };
    tablepay_store::audit::append(conn, &row)
}
