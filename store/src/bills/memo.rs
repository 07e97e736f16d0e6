//! Bills as last committed, kept in memory so that a read of a bill that has not changed
//! costs one statement (its own row, with the venue, table and server) instead of two that
//! grow with its lines and payments.
//!
//! Kept true by one rule: every transaction that changes a bill or anything of it (lines,
//! payments, their parts, adjustments, tenders) moves the bill's `version` on. So a bill's
//! children read at version `v` are its children for as long as its row says `v`, in this
//! process or any other. The venue, table and server are read fresh each time: they change
//! without the bill's version. What is remembered comes from committed reads
//! ([`Committed::bill`], outside any transaction) or from a write that has committed
//! ([`Memo::remember`]); never from inside a transaction, which may still change or roll back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{BillRecord, children_of, header};
use crate::{DbConn, StoreResult};

/// Rows (lines, payments, parts, adjustments and their lines, tenders) remembered at most, of
/// all bills together: beyond, the least recently used bills are forgotten. A row takes about
/// 0.5 to 1 KB, so this keeps the memo under 10 MB or so.
const CAPACITY: usize = 10_000;

/// The remembered bills of this process.
#[derive(Default)]
pub struct Memo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    bills: HashMap<String, Entry>,
    /// The rows of every bill remembered.
    rows: usize,
    /// Moves on with every use, to find the least recently used bill.
    clock: u64,
}

struct Entry {
    record: Arc<BillRecord>,
    used: u64,
}

impl Memo {
    /// Remembers a bill as a committed write left it (its `version` included). An older version
    /// than the one remembered is ignored: a read that started before a write may finish after.
    pub fn remember(&self, record: BillRecord) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if let Some(known) = inner.bills.get(&record.bill.id)
            && known.record.bill.version > record.bill.version
        {
            return;
        }
        let rows = rows(&record);
        if let Some(replaced) = inner.bills.remove(&record.bill.id) {
            inner.rows -= self::rows(&replaced.record);
        }
        if rows > CAPACITY {
            return;
        }
        while inner.rows + rows > CAPACITY {
            let Some(oldest) = inner.bills.iter().min_by_key(|(_, e)| e.used).map(|(id, _)| id.clone()) else { break };
            if let Some(forgotten) = inner.bills.remove(&oldest) {
                inner.rows -= self::rows(&forgotten.record);
            }
        }
        inner.rows += rows;
        inner.bills.insert(record.bill.id.clone(), Entry { record: Arc::new(record), used });
    }

    /// The bill as remembered at `version`, if it is.
    fn at(&self, bill_id: &str, version: i64) -> Option<Arc<BillRecord>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        let entry = inner.bills.get_mut(bill_id)?;
        entry.used = used;
        (entry.record.bill.version == version).then(|| entry.record.clone())
    }
}

/// What a bill weighs in the memo.
fn rows(record: &BillRecord) -> usize {
    1 + record.items.len()
        + record.payments.len()
        + record.parts.len()
        + record.adjustments.len()
        + record.adjustment_lines.len()
        + record.tenders.len()
}

/// Reads bills as committed, through the [`Memo`]: handed out by [`crate::Store::read_committed`]
/// only, never inside a write transaction.
pub struct Committed {
    pub(crate) memo: Arc<Memo>,
}

impl Committed {
    /// A bill as committed, as [`super::load`] reads it: its row, venue, table and server read
    /// now; its children remembered while its version is the one remembered.
    ///
    /// Read in two statements when not remembered, so a bill that another write changes
    /// between them comes back (and is remembered) with its row of one version and its
    /// children of the next. Such a record is never handed out again (the row it is
    /// remembered under is gone for good), and a write worked out on it fails
    /// [`super::advance`], which is how every user of it must commit.
    pub fn bill(&self, conn: &mut DbConn, bill_id: &str) -> StoreResult<Option<BillRecord>> {
        let Some((bill, venue, table, server)) = header(conn, bill_id)? else { return Ok(None) };
        if let Some(known) = self.memo.at(bill_id, bill.version) {
            let mut record = BillRecord::clone(&known);
            (record.bill, record.venue, record.table, record.server) = (bill, venue, table, server);
            return Ok(Some(record));
        }
        let record = children_of(conn, (bill, venue, table, server))?;
        self.memo.remember(record.clone());
        Ok(Some(record))
    }
}
