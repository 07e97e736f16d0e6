//! Writes worked out on a bill as committed, before their transaction, and committed only if
//! the bill has not moved since (see [`tablepay_store::bills::advance`]): creating a payment
//! ([`crate::app::checkout`]) and a sandbox card's success ([`crate::app::outcomes`]). Whatever
//! they cannot do that way is done the old way, under the bill's lock.

use std::future::Future;

use crate::app::AppResult;

/// Tries at most, while the bill keeps moving between the read and the write.
pub const ATTEMPTS: usize = 3;

/// How one try came out.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(T),
    /// Another write moved the bill between the read and this one, which wrote nothing: worth
    /// trying again.
    Moved,
    /// A case the locked path answers (a refusal, a replay, a new equal split, a settlement):
    /// trying again would come to the same.
    Locked,
}

/// Runs `attempt` until it is done, for at most [`ATTEMPTS`] tries while the bill moves; `None`
/// when the locked path is to answer.
pub async fn attempts<T, F, Fut>(mut attempt: F) -> AppResult<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<Attempt<T>>>,
{
    for _ in 0..ATTEMPTS {
        match attempt().await? {
            Attempt::Done(value) => return Ok(Some(value)),
            Attempt::Moved => {}
            Attempt::Locked => return Ok(None),
        }
    }
    Ok(None)
}
