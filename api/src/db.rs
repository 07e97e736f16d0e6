//! The store as route handlers reach it: [`Db`] runs their closures on the store's blocking
//! pool and lets them fail with an [`ApiError`]. Everything about connections, transactions
//! and the two backends is the `tablepay-store` crate's.

use std::ops::Deref;

pub use tablepay_store::{DatabaseUrl, DbConn, Store, lock_bill, now, unique_violation};

use crate::error::ApiError;

/// The application's handle on the store.
#[derive(Clone)]
pub struct Db(Store);

impl Db {
    pub fn new(store: Store) -> Db {
        Db(store)
    }

    /// Opens the store `url` names, with at most `size` connections.
    pub fn connect(url: &DatabaseUrl, size: u32) -> anyhow::Result<Db> {
        Store::connect(url, size).map(Db)
    }

    /// Read-only or single-statement work; see [`Store::run`].
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.0.run(f).await
    }

    /// One write transaction; see [`Store::write`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.0.write(f).await
    }
}

impl Deref for Db {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.0
    }
}
