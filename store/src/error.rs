//! What can go wrong in the store. Not an HTTP error: the API maps it to one at its edge.

/// A failure of the database or of the machinery around it (pool, blocking thread).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("blocking task: {0}")]
    Blocking(String),
    /// A stored value that no rule of ours can have written (a status outside its enum, say).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn corrupt(what: impl Into<String>) -> StoreError {
        StoreError::Corrupt(what.into())
    }

    /// The unique index that a failed insert hit, if that is why it failed.
    pub fn unique_violation(&self) -> Option<String> {
        match self {
            StoreError::Database(e) => crate::dialect::unique_violation(e),
            _ => None,
        }
    }
}

/// Text in a status or role column that names no value of its enum: only a corrupt row has it.
impl From<tablepay_domain::UnknownText> for StoreError {
    fn from(e: tablepay_domain::UnknownText) -> StoreError {
        StoreError::corrupt(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
