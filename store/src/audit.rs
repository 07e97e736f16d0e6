//! The audit log: append-only, one entry for every action staff take on money or people.
//! Entries are written inside the transaction of the action they record, so both or neither
//! stay.

use diesel::prelude::*;

use crate::rows::AuditEntry;
use crate::schema::audit_log;
use crate::{DbConn, StoreResult};

/// Appends one entry.
pub fn append(conn: &mut DbConn, entry: &AuditEntry) -> StoreResult<()> {
    diesel::insert_into(audit_log::table).values(entry.clone()).execute(conn)?;
    Ok(())
}
