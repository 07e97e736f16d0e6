//! Use cases: a venue's dining tables (created, listed, shown), their QR tokens (rotated,
//! and resolved to the table for guests and the guest routes' rate limiter), and the floor
//! status a table shows from the bill it holds.

use std::collections::HashMap;

use tablepay_domain::BillStatus;
use tablepay_store::rows::DiningTable;
use tablepay_store::{DbConn, Store};

use crate::app::access::Permission;
use crate::app::access::VenueCaller;
use crate::app::live::GuestTable;
use crate::app::{AppError, AppResult, Code};
use crate::secrets::random_token;
use tablepay_domain::{TableId, VenueId};
use tablepay_store::new_id;

/// Tokens we issue are 32 characters; anything much longer is not worth a lookup.
const MAX_QR_TOKEN_LEN: usize = 128;

/// Whether `token` could be a QR token we issued: URL-safe base64 (what [`new_qr_token`]
/// makes), at most [`MAX_QR_TOKEN_LEN`] characters. Anything else names no table and is never
/// looked up: PostgreSQL answers text holding a NUL with an error, not a miss.
pub fn is_qr_token(token: &str) -> bool {
    (1..=MAX_QR_TOKEN_LEN).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// 24 random bytes: 192 bits, 32 URL-safe characters. Guessing one is hopeless.
pub fn new_qr_token() -> String {
    random_token(24)
}

/// What a table shows on the floor, from the bill it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableStatus {
    /// No bill: ready for guests.
    Free,
    /// Guests are paying.
    Open,
    /// Settled, but the guests are still seated.
    Paid,
}

impl TableStatus {
    /// The status of a table holding a bill of `bill` status, or none.
    pub fn of(bill: Option<BillStatus>) -> TableStatus {
        match bill {
            Some(BillStatus::Open) => TableStatus::Open,
            Some(BillStatus::Paid) => TableStatus::Paid,
            _ => TableStatus::Free,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Free => "free",
            TableStatus::Open => "open",
            TableStatus::Paid => "paid",
        }
    }
}

/// A table with its floor status.
#[derive(Debug, Clone)]
pub struct TableOnFloor {
    pub table: DiningTable,
    pub status: TableStatus,
}

/// Adds a table to the venue with a fresh QR token; its label must be new in the venue.
pub async fn create(store: &Store, venue_id: VenueId, label: String) -> AppResult<TableOnFloor> {
    let table = DiningTable {
        id: new_id(),
        venue_id: venue_id.into(),
        label,
        qr_token: new_qr_token(),
        created_at: tablepay_store::now(),
    };
    store
        .write(move |conn| -> AppResult<_> {
            match tablepay_store::tables::insert(conn, &table) {
                Ok(()) => Ok(TableOnFloor { table, status: TableStatus::Free }),
                Err(e) if e.unique_violation().is_some() => Err(AppError::conflict(
                    Code::Conflict,
                    format!("a table labelled {:?} already exists", table.label),
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await
}

/// Up to `fetch` tables of the venue by label, after the table `after`; `None` when `after`
/// names no table of the venue (the client's cursor is wrong).
pub async fn list(
    store: &Store,
    venue_id: VenueId,
    after: Option<String>,
    fetch: i64,
) -> AppResult<Option<Vec<TableOnFloor>>> {
    store
        .run(move |conn| -> AppResult<_> {
            let after_label = match after {
                Some(id) => match tablepay_store::tables::label_in_venue(conn, venue_id.as_str(), &id)? {
                    Some(label) => Some(label),
                    None => return Ok(None),
                },
                None => None,
            };
            let tables = tablepay_store::tables::page(conn, venue_id.as_str(), after_label.as_deref(), fetch)?;
            Ok(Some(on_floor(conn, tables)?))
        })
        .await
}

/// A table of the caller's venue.
pub async fn get(store: &Store, caller: VenueCaller, table_id: TableId) -> AppResult<TableOnFloor> {
    store
        .run(move |conn| -> AppResult<_> {
            let table = venue_table(conn, table_id.as_str(), caller.venue_id.as_str())?;
            one_on_floor(conn, table)
        })
        .await
}

/// Gives a table a new QR token (a printed code that walked off, a token that leaked): the
/// old one stops working at once.
pub async fn rotate_qr(store: &Store, caller: VenueCaller, table_id: TableId) -> AppResult<TableOnFloor> {
    store
        .write(move |conn| -> AppResult<_> {
            let mut table = venue_table(conn, table_id.as_str(), caller.venue_id.as_str())?;
            // After the lookup: a table of another venue is not found, whatever the role.
            caller.require(Permission::KeepTables)?;
            table.qr_token = new_qr_token();
            tablepay_store::tables::set_qr_token(conn, &table.id, &table.qr_token)?;
            one_on_floor(conn, table)
        })
        .await
}

/// A table of the venue, inside the caller's transaction; 404 for a table of another venue.
pub fn venue_table(conn: &mut DbConn, table_id: &str, venue_id: &str) -> AppResult<DiningTable> {
    match tablepay_store::tables::find(conn, table_id)? {
        Some(t) if t.venue_id == venue_id => Ok(t),
        _ => Err(AppError::NotFound("table")),
    }
}

fn on_floor(conn: &mut DbConn, tables: Vec<DiningTable>) -> AppResult<Vec<TableOnFloor>> {
    let ids: Vec<String> = tables.iter().map(|t| t.id.clone()).collect();
    let statuses = tablepay_store::tables::current_bill_statuses(conn, &ids)?;
    Ok(tables.into_iter().map(|table| with_status(table, &statuses)).collect())
}

fn one_on_floor(conn: &mut DbConn, table: DiningTable) -> AppResult<TableOnFloor> {
    let statuses = tablepay_store::tables::current_bill_statuses(conn, std::slice::from_ref(&table.id))?;
    Ok(with_status(table, &statuses))
}

fn with_status(table: DiningTable, statuses: &HashMap<String, BillStatus>) -> TableOnFloor {
    let status = TableStatus::of(statuses.get(&table.id).copied());
    TableOnFloor { table, status }
}

/// The table a QR token names, or `None`: what every guest route needs first (the rate
/// limiter counts by table instead of by client). Read through [`crate::app::live::GuestCache`].
pub async fn by_qr_token(store: &Store, qr_token: String) -> AppResult<Option<GuestTable>> {
    if !is_qr_token(&qr_token) {
        return Ok(None);
    }
    let found = store
        .run(move |conn| -> AppResult<_> { Ok(tablepay_store::tables::provider_by_qr_token(conn, &qr_token)?) })
        .await?;
    Ok(found.map(|(table_id, venue_id, payment_provider)| GuestTable { table_id, venue_id, payment_provider }))
}
