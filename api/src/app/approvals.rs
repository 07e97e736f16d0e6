//! The one approvals flow of comps, discounts and refunds. Front-line staff fix small problems
//! on the spot: a request within the caller's limit goes ahead at once; above it, it waits
//! (`pending_approval`, announced to the managers' dashboards) until a manager other than the
//! requester approves or rejects it. Every step is audited.
//!
//! What differs between comps and refunds (what "going ahead" does, what is locked) stays in
//! [`crate::app::adjustments`] and [`crate::app::refunds`]; who may do what, the limit and the
//! decision's checks, events and audit entry live here once.

use std::fmt::Display;

use serde::Serialize;
use serde_json::{Map, Value};
use tablepay_domain::{Approval, Authority, MinorUnit, limits};
use tablepay_store::DbConn;

use crate::app::access::Permission;
use crate::app::access::VenueCaller;
use crate::app::events::emit;
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};

/// What a request became: done at once (within the caller's limit), or waiting for a manager.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Pending(T),
}

/// The one limit check: the status a new request of `amount` starts in, given the venue's
/// limit for servers and the amounts of the caller's own earlier requests on the bill that
/// count against it (summed only for a limited caller). The caller's role was checked.
pub fn request_status<S: Approval>(
    caller: &VenueCaller,
    server_limit: i64,
    counted: impl IntoIterator<Item = i64>,
    amount: i64,
) -> AppResult<S> {
    let within = match caller.role.authority(MinorUnit(server_limit)) {
        Some(Authority::Unlimited) => true,
        Some(limited) => {
            let used = limits::used(counted.into_iter().map(MinorUnit))
                .map_err(|e| AppError::internal(format!("what {} gave on the bill: {e}", caller.actor_id())))?;
            limited.allows(used, MinorUnit(amount))
        }
        None => false,
    };
    Ok(S::on_request(within))
}

/// Only a manager, and never the one who asked, decides.
pub fn require_decider(caller: &VenueCaller, requested_by: &str) -> AppResult<()> {
    caller.require(Permission::Decide)?;
    if caller.actor_id() == requested_by {
        return Err(AppError::forbidden("the requester cannot approve or reject their own request"));
    }
    Ok(())
}

/// A request that waits for a manager: a comp or discount, or a refund.
pub trait Request: Sized {
    type Status: Approval + Display;
    /// What the decision changes, read under its lock: the bill, or the refunded payment.
    type Locked;
    /// `adjustment` or `refund`: names the request in errors, events and audit actions.
    const NOUN: &'static str;

    fn find(conn: &mut DbConn, id: &str) -> AppResult<Option<Self>>;
    fn venue_id(&self) -> &str;
    fn requested_by(&self) -> &str;
    fn status(&self) -> Self::Status;
    /// Locks (and reads) what the decision changes, in the caller's venue.
    fn lock(&self, conn: &mut DbConn, caller: &VenueCaller) -> AppResult<Self::Locked>;
}

/// A request the caller may decide, read under the lock of what it changes.
pub struct Pending<R: Request> {
    pub request: R,
    pub locked: R::Locked,
    /// Where the decision moves it: approved (going ahead) or rejected.
    pub next: R::Status,
}

/// Finds the request `id` of the caller's venue, checks the caller may decide it, locks what
/// it changes and checks, under that lock, that it still waits for a decision.
pub fn pending<R: Request>(conn: &mut DbConn, caller: &VenueCaller, id: &str, approve: bool) -> AppResult<Pending<R>> {
    let found = R::find(conn, id)?.ok_or(AppError::NotFound(R::NOUN))?;
    caller.require_venue(found.venue_id(), R::NOUN)?;
    require_decider(caller, found.requested_by())?;
    let locked = found.lock(conn, caller)?;
    // Read again under the lock: another manager may have decided in the meantime.
    let request = R::find(conn, id)?.ok_or(AppError::NotFound(R::NOUN))?;
    let current = request.status();
    if !current.awaits_approval() {
        return Err(AppError::conflict(Code::Conflict, format!("the {} is already {current}", R::NOUN)));
    }
    Ok(Pending { request, locked, next: R::Status::on_decision(approve) })
}

/// `<noun>.pending_approval`: the managers' dashboards show the request at once.
pub fn announce_pending(conn: &mut DbConn, venue_id: &str, noun: &str, view: &impl Serialize) -> AppResult<()> {
    announce(conn, venue_id, noun, "pending_approval", view)
}

/// `<noun>.approved` or `<noun>.rejected`: every dashboard drops the request from its queue.
pub fn announce_decision(
    conn: &mut DbConn,
    venue_id: &str,
    noun: &str,
    approved: bool,
    view: &impl Serialize,
) -> AppResult<()> {
    announce(conn, venue_id, noun, if approved { "approved" } else { "rejected" }, view)
}

fn announce(conn: &mut DbConn, venue_id: &str, noun: &str, what: &str, view: &impl Serialize) -> AppResult<()> {
    let view = serde_json::to_value(view).map_err(|e| AppError::internal(format!("{noun} view: {e}")))?;
    emit(conn, venue_id, &format!("{noun}.{what}"), Value::Object(Map::from_iter([(noun.to_owned(), view)])))?;
    Ok(())
}

/// What a decision's audit entry says of the request.
pub struct Decided<'a> {
    pub noun: &'static str,
    pub approved: bool,
    pub bill_id: &'a str,
    pub id: &'a str,
    pub amount: i64,
    pub reason: &'a str,
    pub requested_by: &'a str,
}

/// Audits a manager's decision: `<noun>.approved` or `<noun>.rejected`, with who asked.
pub fn audit_decision(conn: &mut DbConn, caller: &VenueCaller, decided: Decided<'_>) -> AppResult<()> {
    let action = format!("{}.{}", decided.noun, if decided.approved { "approved" } else { "rejected" });
    audit::record(
        conn,
        caller,
        Entry {
            action: &action,
            bill_id: Some(decided.bill_id),
            subject_id: Some(decided.id),
            amount: Some(decided.amount),
            reason: Some(decided.reason),
            approved_by: Some(caller.actor_name()),
            details: serde_json::json!({"requested_by": decided.requested_by}),
        },
    )?;
    Ok(())
}
