//! Idempotency records: the answer to a creating request, kept under its client's key so that
//! a retry gets the same answer instead of doing the work twice. What the records mean (how
//! long they last, when a retry may take one over) is the API's; this module reads and
//! writes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::rows::IdempotencyRecord;
use crate::schema::idempotency_keys;
use crate::{DbConn, StoreResult};

/// The stored texts of a record's two stages.
const IN_FLIGHT: &str = "in_flight";
const COMPLETE: &str = "complete";

/// A record as found: which request made it, when, and its answer once there is one.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Digest of the request that took the key.
    pub fingerprint: String,
    pub created_at: NaiveDateTime,
    /// The request is still being processed (or its process died doing so).
    pub in_flight: bool,
    /// The HTTP status and JSON body of the answer, once complete.
    pub answer: Option<(i32, String)>,
}

impl From<IdempotencyRecord> for Recorded {
    fn from(row: IdempotencyRecord) -> Recorded {
        let answer = match (row.status.as_str(), row.response_status, row.response_body) {
            (COMPLETE, Some(status), Some(body)) => Some((status, body)),
            _ => None,
        };
        Recorded {
            fingerprint: row.fingerprint,
            created_at: row.created_at,
            in_flight: row.status == IN_FLIGHT,
            answer,
        }
    }
}

impl Recorded {
    /// Still in flight after `lease`: the process that took it died mid-request.
    pub fn abandoned(&self, now: NaiveDateTime, lease: chrono::Duration) -> bool {
        self.in_flight && self.created_at < now - lease
    }
}

/// The record of `key` in `scope`, if any.
pub fn find(conn: &mut DbConn, scope: &str, key: &str) -> StoreResult<Option<Recorded>> {
    let row: Option<IdempotencyRecord> =
        idempotency_keys::table.find((scope, key)).select(IdempotencyRecord::as_select()).first(conn).optional()?;
    Ok(row.map(Recorded::from))
}

/// Takes `key` in `scope` for a request now in flight. False when another request holds it
/// already (the insert met the unique key; on PostgreSQL that aborts the transaction, which
/// the caller then ends).
pub fn claim(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    created_at: NaiveDateTime,
) -> StoreResult<bool> {
    insert(conn, scope, key, fingerprint, created_at, None)
}

/// Takes `key` in `scope` with its answer at once, for work done in the same transaction
/// (one statement instead of [`claim`] and [`complete`]). False as for [`claim`].
pub fn claim_answered(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    created_at: NaiveDateTime,
    answer: (i32, &str),
) -> StoreResult<bool> {
    insert(conn, scope, key, fingerprint, created_at, Some(answer))
}

fn insert(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    created_at: NaiveDateTime,
    answer: Option<(i32, &str)>,
) -> StoreResult<bool> {
    let row = IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        status: if answer.is_some() { COMPLETE } else { IN_FLIGHT }.to_owned(),
        response_status: answer.map(|(status, _)| status),
        response_body: answer.map(|(_, body)| body.to_owned()),
        created_at,
    };
    match diesel::insert_into(idempotency_keys::table).values(&row).execute(conn) {
        Ok(_) => Ok(true),
        Err(e) if crate::unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Stores the answer to replay for `key` in `scope`.
pub fn complete(conn: &mut DbConn, scope: &str, key: &str, status: i32, body: &str) -> StoreResult<()> {
    diesel::update(idempotency_keys::table.find((scope, key)))
        .set((
            idempotency_keys::status.eq(COMPLETE),
            idempotency_keys::response_status.eq(status),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets `key` in `scope`, so that it can be taken again.
pub fn forget(conn: &mut DbConn, scope: &str, key: &str) -> StoreResult<()> {
    diesel::delete(idempotency_keys::table.find((scope, key))).execute(conn)?;
    Ok(())
}

/// Deletes every record made before `cutoff`; returns how many.
pub fn purge_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff))).execute(conn)?)
}
