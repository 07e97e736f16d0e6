//! What guests read, kept in memory and kept true: the table behind each QR token and each
//! table's priced guest view, as the JSON bytes sent. A guest read that finds both runs no
//! SQL at all (the rate limiter counts in memory).
//!
//! Each entry carries the [`Stamp`] taken before the database was read for it, and is used
//! only while nothing of its venue is known to have changed since (see
//! [`tablepay_store::changes`]): this process's writes move the generations at commit, on the
//! thread that committed, so nobody is shown a bill older than the one their own write
//! produced; other processes' writes arrive through PostgreSQL's `NOTIFY` or SQLite's
//! `data_version`, within a fraction of a second, and while they cannot be heard nothing is
//! trusted. A token rotated or a table moved is a write like any other: it drops the entries
//! of the venues it touched (all of them, when it does not say which).

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;

use actix_web::web::Bytes;
use tablepay_store::Store;
use tablepay_store::changes::{Generations, Stamp};

/// Entries kept at most per map; beyond, stale ones go first, then all (a flood of distinct
/// tables is rare enough that starting afresh costs less than tracking use).
const MAX_ENTRIES: usize = 20_000;

/// The table a guest's QR token names: what every guest route needs before its handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestTable {
    pub table_id: String,
    pub venue_id: String,
    pub payment_provider: String,
}

#[derive(Debug)]
struct Entry<T> {
    venue_id: String,
    stamp: Stamp,
    value: T,
}

/// Whether what a venue's entry was read from still holds since its stamp.
type Holds = fn(&Generations, &str, Stamp) -> bool;

/// A map whose entries hold while what they were read from has not moved.
#[derive(Debug)]
struct Stamped<T> {
    entries: RwLock<HashMap<String, Entry<T>>>,
    holds: Holds,
}

impl<T: Clone> Stamped<T> {
    fn new(holds: Holds) -> Self {
        Stamped { entries: RwLock::default(), holds }
    }

    fn get(&self, generations: &Generations, key: &str) -> Option<T> {
        let map = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.get(key)?;
        (self.holds)(generations, &entry.venue_id, entry.stamp).then(|| entry.value.clone())
    }

    fn put(&self, generations: &Generations, key: String, venue_id: String, stamp: Stamp, value: T) {
        let mut map = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            map.retain(|_, e| (self.holds)(generations, &e.venue_id, e.stamp));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, Entry { venue_id, stamp, value });
    }
}

/// The guests' cache: QR token → table, table → guest view.
#[derive(Debug)]
pub struct GuestCache {
    /// Held while the venue's tables and settings have not moved (its bills may have: a
    /// payment does not change what a QR token names).
    tables: Stamped<GuestTable>,
    /// Held while nothing of the venue has moved.
    views: Stamped<Bytes>,
}

impl Default for GuestCache {
    fn default() -> Self {
        GuestCache { tables: Stamped::new(Generations::tables_current), views: Stamped::new(Generations::is_current) }
    }
}

impl GuestCache {
    /// The table `qr_token` names, from memory when nothing of its venue's tables or settings
    /// changed since it was read; `None` for a token that names none (never kept: guessing
    /// fills no memory).
    pub async fn table(&self, store: &Store, qr_token: &str) -> Result<Option<GuestTable>, crate::app::AppError> {
        let generations = store.generations();
        if let Some(table) = self.tables.get(generations, qr_token) {
            return Ok(Some(table));
        }
        let stamp = generations.stamp();
        let found = crate::app::tables::by_qr_token(store, qr_token.to_owned()).await?;
        if let Some(table) = &found {
            self.tables.put(generations, qr_token.to_owned(), table.venue_id.clone(), stamp, table.clone());
        }
        Ok(found)
    }

    /// The table's guest view as sent, from memory when nothing of its venue changed since it
    /// was priced; otherwise `compute` prices it and it is kept.
    pub async fn view<E, F, Fut>(&self, store: &Store, table: &GuestTable, compute: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let generations = store.generations();
        if let Some(view) = self.views.get(generations, &table.table_id) {
            return Ok(view);
        }
        let stamp = generations.stamp();
        let view = compute().await?;
        self.views.put(generations, table.table_id.clone(), table.venue_id.clone(), stamp, view.clone());
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tablepay_store::changes::Touched;

    #[test]
    fn an_entry_holds_until_its_venue_moves() {
        let generations = Generations::default();
        let map = Stamped::new(Generations::is_current);
        let stamp = generations.stamp();
        map.put(&generations, "t1".into(), "v1".into(), stamp, 1);
        map.put(&generations, "t2".into(), "v2".into(), stamp, 2);
        assert_eq!(map.get(&generations, "t1"), Some(1));
        generations.moved(&Touched::Venues(vec!["v1".into()]));
        assert_eq!(map.get(&generations, "t1"), None, "its venue changed");
        assert_eq!(map.get(&generations, "t2"), Some(2), "another venue's entry holds");
        generations.moved(&Touched::Unknown);
        assert_eq!(map.get(&generations, "t2"), None, "anything may have changed");
    }

    #[test]
    fn a_value_read_before_a_change_is_never_trusted_after_it() {
        let generations = Generations::default();
        let map = Stamped::new(Generations::is_current);
        // Stamped, then the database is read, and a write commits before the value is kept.
        let stamp = generations.stamp();
        generations.moved(&Touched::Venues(vec!["v1".into()]));
        map.put(&generations, "t1".into(), "v1".into(), stamp, "old");
        assert_eq!(map.get(&generations, "t1"), None);
    }

    #[test]
    fn a_full_map_drops_stale_entries_first() {
        let generations = Generations::default();
        let map = Stamped::new(Generations::is_current);
        let stamp = generations.stamp();
        for i in 0..MAX_ENTRIES {
            map.put(&generations, format!("t{i}"), if i == 0 { "live" } else { "stale" }.into(), stamp, i);
        }
        generations.moved(&Touched::Venues(vec!["stale".into()]));
        map.put(&generations, "new".into(), "live".into(), generations.stamp(), 0);
        assert_eq!(map.get(&generations, "t0"), Some(0));
        assert_eq!(map.entries.read().expect("not poisoned").len(), 2);
    }

    #[test]
    fn a_qr_token_holds_through_payments_but_not_a_change_of_tables() {
        let generations = Generations::default();
        let cache = GuestCache::default();
        let table = GuestTable { table_id: "t1".into(), venue_id: "v1".into(), payment_provider: "sandbox".into() };
        let stamp = generations.stamp();
        cache.tables.put(&generations, "qr1".into(), "v1".into(), stamp, table.clone());
        cache.views.put(&generations, "t1".into(), "v1".into(), stamp, Bytes::from_static(b"{}"));
        generations.moved(&Touched::Bills(vec!["v1".into()]));
        assert_eq!(cache.tables.get(&generations, "qr1"), Some(table), "a payment names no other table");
        assert_eq!(cache.views.get(&generations, "t1"), None, "but changes what the guest sees");
        generations.moved(&Touched::Venues(vec!["v1".into()]));
        assert_eq!(cache.tables.get(&generations, "qr1"), None, "a rotation, say");
    }
}
