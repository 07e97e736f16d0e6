//! What this process knows has changed in the database, so that caches of what guests read can
//! be trusted without asking the database.
//!
//! Every write transaction says which venues it touched: [`crate::outbox::append`] names the
//! venue of each event it writes, and a writer that touches nothing a guest reads says so with
//! [`touches_no_guest_view`]. A transaction that said neither may have touched anything. After
//! commit, [`crate::Store::write`] moves the [`Generations`] of the venues it touched (or of
//! all venues) on; the same news reaches other processes on PostgreSQL as a `NOTIFY` sent in
//! the transaction, and on SQLite through the file's `data_version`, which another process's
//! commit changes (see [`crate::dialect::watch_other_processes`]).
//!
//! A cache entry keeps the [`Stamp`] taken *before* it read the database: a write that commits
//! meanwhile moves the generation past it, so the entry is never trusted with older data.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::outbox::Emitted;

/// What the transaction running on this thread touched, as far as guests' views go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Touched {
    /// It did not say: it may have changed anything.
    #[default]
    Unknown,
    /// Nothing any guest reads (delivery bookkeeping, idempotency records).
    Nothing,
    /// These venues' data, and nothing else.
    Venues(Vec<String>),
    /// These venues' bills and what hangs off them (payments, events), and nothing of their
    /// tables or settings: the QR token → table maps of these venues still hold.
    Bills(Vec<String>),
}

impl Touched {
    /// The `NOTIFY` payload that tells other processes: `*` for anything, else the venue ids
    /// separated by commas; `None` when there is nothing to tell.
    pub fn payload(&self) -> Option<String> {
        match self {
            Touched::Unknown => Some("*".to_owned()),
            Touched::Nothing => None,
            Touched::Venues(ids) | Touched::Bills(ids) => Some(ids.join(",")),
        }
    }

    /// True when the tables and settings of the venues touched are as they were.
    pub fn tables_kept(&self) -> bool {
        matches!(self, Touched::Bills(_) | Touched::Nothing)
    }

    /// The inverse of [`Touched::payload`], told whether the tables were kept.
    pub fn from_payload(payload: &str, tables_kept: bool) -> Touched {
        if payload.is_empty() || payload == "*" {
            return Touched::Unknown;
        }
        let ids = payload.split(',').map(str::to_owned).collect();
        if tables_kept { Touched::Bills(ids) } else { Touched::Venues(ids) }
    }
}

thread_local! {
    static TOUCHED: RefCell<Touched> = const { RefCell::new(Touched::Unknown) };
    /// The transaction said it changes no table, QR token or venue setting.
    static TABLES_KEPT: Cell<bool> = const { Cell::new(false) };
}

/// Records that the transaction running on this thread changed `venue_id`'s data.
pub fn touch_venue(venue_id: &str) {
    TOUCHED.with(|t| {
        let mut touched = t.borrow_mut();
        match &mut *touched {
            Touched::Venues(ids) | Touched::Bills(ids) => {
                if !ids.iter().any(|id| id == venue_id) {
                    ids.push(venue_id.to_owned());
                }
            }
            _ => *touched = Touched::Venues(vec![venue_id.to_owned()]),
        }
    });
}

/// Records that the transaction running on this thread changes nothing a guest reads, unless
/// it also names a venue it touched.
pub fn touches_no_guest_view() {
    TOUCHED.with(|t| {
        let mut touched = t.borrow_mut();
        if *touched == Touched::Unknown {
            *touched = Touched::Nothing;
        }
    });
}

/// Records that the transaction running on this thread changes no table, QR token or venue
/// setting, only bills and what hangs off them: the venues it touches keep their QR token →
/// table maps (see [`Generations::tables_current`]). Said by the writers of payments, the
/// busiest there are; a writer that does not say it moves the maps of the venues it touches.
pub fn keeps_tables() {
    TABLES_KEPT.with(|k| k.set(true));
}

/// Clears and returns what was recorded on this thread since the last call.
pub(crate) fn take() -> Touched {
    let kept = TABLES_KEPT.with(|k| k.replace(false));
    match TOUCHED.with(|t| t.take()) {
        Touched::Venues(ids) if kept => Touched::Bills(ids),
        touched => touched,
    }
}

/// Runs a writer and returns, with its value, what it touched and what it wrote to the outbox;
/// nothing recorded before it or by a writer that fails is left behind for the next.
pub(crate) fn recording<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Touched, Emitted), E> {
    take();
    crate::outbox::take_emitted();
    let result = f().map(|value| (value, take(), crate::outbox::take_emitted()));
    take();
    crate::outbox::take_emitted();
    result
}

/// A point in the history of the data, as this process knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    all: u64,
    seen: u64,
}

/// How far each venue's data has moved, as heard by this process.
#[derive(Debug, Default)]
pub struct Generations {
    /// Moves when anything may have changed.
    all: AtomicU64,
    /// Numbers the changes of single venues.
    counter: AtomicU64,
    /// The number of each venue's latest change; a venue absent has not changed since start.
    venues: RwLock<HashMap<String, u64>>,
    /// The number of each venue's latest change that may have changed its tables or settings.
    tables: RwLock<HashMap<String, u64>>,
    /// Other processes' changes cannot be heard (the listener is down): nothing is current.
    deaf: AtomicBool,
}

impl Generations {
    /// Where the data stands now. Take it before reading what it will vouch for, so that a
    /// change committed meanwhile is newer than the stamp.
    pub fn stamp(&self) -> Stamp {
        Stamp { all: self.all.load(Ordering::Acquire), seen: self.counter.load(Ordering::Acquire) }
    }

    /// True when nothing of `venue_id` is known to have changed since `stamp` was taken.
    pub fn is_current(&self, venue_id: &str, stamp: Stamp) -> bool {
        self.unmoved(&self.venues, venue_id, stamp)
    }

    /// True when nothing of `venue_id`'s tables or settings (what a QR token names) is known to
    /// have changed since `stamp` was taken; its bills may have.
    pub fn tables_current(&self, venue_id: &str, stamp: Stamp) -> bool {
        self.unmoved(&self.tables, venue_id, stamp)
    }

    fn unmoved(&self, changes: &RwLock<HashMap<String, u64>>, venue_id: &str, stamp: Stamp) -> bool {
        if self.deaf.load(Ordering::Acquire) || self.all.load(Ordering::Acquire) != stamp.all {
            return false;
        }
        let changes = changes.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        changes.get(venue_id).is_none_or(|&n| n <= stamp.seen)
    }

    /// Whether other processes' changes can be heard; while they cannot, no stamp is current.
    pub(crate) fn set_hearing(&self, hearing: bool) {
        self.deaf.store(!hearing, Ordering::Release);
    }

    /// Moves the generations a committed transaction touched on.
    pub fn moved(&self, touched: &Touched) {
        match touched {
            Touched::Nothing => {}
            Touched::Unknown => {
                self.all.fetch_add(1, Ordering::AcqRel);
            }
            Touched::Venues(ids) | Touched::Bills(ids) => {
                let mut venues = self.venues.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                let mut tables = matches!(touched, Touched::Venues(_))
                    .then(|| self.tables.write().unwrap_or_else(std::sync::PoisonError::into_inner));
                let n = self.counter.fetch_add(1, Ordering::AcqRel) + 1;
                for id in ids {
                    venues.insert(id.clone(), n);
                    if let Some(tables) = tables.as_mut() {
                        tables.insert(id.clone(), n);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_moves_only_the_venues_it_touched() {
        let gens = Generations::default();
        let before = gens.stamp();
        gens.moved(&Touched::Venues(vec!["a".into()]));
        assert!(!gens.is_current("a", before));
        assert!(gens.is_current("b", before));
        let after = gens.stamp();
        assert!(gens.is_current("a", after), "a stamp taken after the change vouches for it");
        gens.moved(&Touched::Nothing);
        assert!(gens.is_current("b", before));
        gens.moved(&Touched::Unknown);
        assert!(!gens.is_current("b", before), "an unknown change moves every venue");
        assert!(!gens.is_current("a", after));
        let now = gens.stamp();
        gens.set_hearing(false);
        assert!(!gens.is_current("a", now), "nothing is current while other processes cannot be heard");
        gens.set_hearing(true);
        assert!(gens.is_current("a", now));
    }

    #[test]
    fn a_transaction_that_says_nothing_may_have_touched_anything() {
        take();
        assert_eq!(take(), Touched::Unknown);
        touches_no_guest_view();
        assert_eq!(take(), Touched::Nothing);
        touches_no_guest_view();
        touch_venue("v1");
        touch_venue("v1");
        touch_venue("v2");
        assert_eq!(take(), Touched::Venues(vec!["v1".into(), "v2".into()]));
        assert_eq!(take(), Touched::Unknown, "taking clears");
    }

    #[test]
    fn payloads_round_trip() {
        for touched in [
            Touched::Unknown,
            Touched::Venues(vec!["a".into(), "b".into()]),
            Touched::Bills(vec!["a".into(), "b".into()]),
        ] {
            let payload = touched.payload().expect("a payload");
            assert_eq!(Touched::from_payload(&payload, touched.tables_kept()), touched);
        }
        assert_eq!(Touched::Nothing.payload(), None);
    }

    #[test]
    fn a_change_of_bills_only_keeps_the_tables_current() {
        let gens = Generations::default();
        let before = gens.stamp();
        gens.moved(&Touched::Bills(vec!["a".into()]));
        assert!(!gens.is_current("a", before), "its bills moved");
        assert!(gens.tables_current("a", before), "its tables did not");
        gens.moved(&Touched::Venues(vec!["a".into()]));
        assert!(!gens.tables_current("a", before));
        assert!(gens.tables_current("b", before), "another venue's tables hold");
        let now = gens.stamp();
        gens.moved(&Touched::Unknown);
        assert!(!gens.tables_current("b", now), "an unknown change moves every venue's tables");
        let now = gens.stamp();
        gens.set_hearing(false);
        assert!(!gens.tables_current("b", now), "nothing is current while other processes cannot be heard");
    }

    #[test]
    fn only_a_transaction_that_says_so_keeps_the_tables() {
        take();
        touch_venue("v1");
        assert_eq!(take(), Touched::Venues(vec!["v1".into()]));
        keeps_tables();
        touches_no_guest_view();
        touch_venue("v1");
        assert_eq!(take(), Touched::Bills(vec!["v1".into()]));
        touch_venue("v1");
        assert_eq!(take(), Touched::Venues(vec!["v1".into()]), "taking clears what was said");
        keeps_tables();
        assert_eq!(take(), Touched::Unknown, "a transaction that names no venue may still have changed any");
    }
}
