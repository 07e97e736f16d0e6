//! `Idempotency-Key` for every creating POST (API.md, Conventions).
//!
//! [`run`]: the key is recorded *before* the work starts, in its own committed transaction, so
//! a retry that arrives while the first attempt runs gets 409 `idempotency_key_in_use`, and
//! one that arrives after gets the stored answer. [`Keyed`]: creating a payment records the
//! key in the payment's own transaction instead (one write transaction, not three); a retry
//! that arrives while it runs waits for the bill's lock and then gets that payment, or 409
//! while the provider is still being asked. Keys are scoped to the credential.
//! Answers below 500 are stored and replayed for 24 h; a 5xx forgets the key so the client
//! can retry for real.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime, Utc};
use tablepay_store::idempotency::{self as records, Recorded};
use tablepay_store::{DbConn, Store, StoreResult};

use crate::AppState;
use crate::app::AppError;
use crate::error::{ApiError, Code};
use crate::http::{Body, Reply};
use crate::secrets::digest;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// How long an answer is kept for replay.
pub const RETENTION_HOURS: i64 = 24;
/// An in-flight record older than this belongs to a process that died mid-request: a retry
/// may take it over.
const IN_FLIGHT_LEASE_SECONDS: i64 = 300;

/// How long a record in flight belongs to the request that took it.
pub fn in_flight_lease() -> Duration {
    Duration::seconds(IN_FLIGHT_LEASE_SECONDS)
}

/// The request's `Idempotency-Key`, if it sent one: 1 to 255 visible ASCII characters, or
/// 400. [`refuse_malformed_keys`] applies the same rule to every route, so a key that one
/// route would refuse is never quietly ignored by another.
pub fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get(HEADER) else { return Ok(None) };
    raw.to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters"))
}

/// Middleware: 400 for a malformed `Idempotency-Key` on any route, whether or not the route
/// records keys, so an empty key means the same everywhere.
pub async fn refuse_malformed_keys(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if let Err(e) = key_of(req.request()) {
        return Ok(req.into_response(actix_web::ResponseError::error_response(&e)));
    }
    next.call(req).await
}

enum Start {
    Fresh,
    Replay(Reply),
}

/// Runs `work` at most once per (`scope`, key), replaying its answer for repeats.
/// Without the header, `work` simply runs.
pub async fn run<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    scope: String,
    body: &Body,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let Some(key) = key_of(req)? else {
        return Ok(work().await?.into_response());
    };
    let fingerprint = fingerprint(req, body);

    let store: &Store = &state.db;
    let start = {
        let (scope, key, fingerprint) = (scope.clone(), key.clone(), fingerprint.clone());
        store.write(move |conn| begin(conn, &scope, &key, &fingerprint)).await?
    };
    if let Start::Replay(reply) = start {
        return Ok(replayed(reply.into_response()));
    }

    let outcome = work().await;
    let stored = match &outcome {
        Ok(reply) => Some(reply.clone()),
        Err(err) if err.status.as_u16() < 500 => Some(Reply { status: err.status, body: err.body() }),
        Err(_) => None,
    };
    let finish = store
        .write(move |conn| -> StoreResult<()> {
            tablepay_store::changes::touches_no_guest_view();
            match stored {
                Some(reply) => {
                    records::complete(conn, &scope, &key, i32::from(reply.status.as_u16()), &reply.body.to_string())
                }
                None => records::forget(conn, &scope, &key),
            }
        })
        .await;
    if let Err(err) = finish {
        tracing::error!(%err, "could not record the idempotent answer");
    }
    outcome.map(Reply::into_response)
}

/// The key of a request whose work keeps its own record, in its own write transaction
/// (creating a payment: see [`crate::app::checkout::AnswerKey`]), so the request costs one
/// write transaction instead of three. The record is read first, for a replay; the work takes
/// it; [`Keyed::settle_failure`] records a refusal after the work's transaction rolled back.
pub struct Keyed {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// A record past its retention, or abandoned by a dead process, stands in the way.
    pub take_over: bool,
}

impl Keyed {
    /// The request's key in `scope`, if it sent one.
    pub fn of(req: &HttpRequest, scope: String, body: &Body) -> Result<Option<Keyed>, ApiError> {
        let Some(key) = key_of(req)? else { return Ok(None) };
        Ok(Some(Keyed { scope, key, fingerprint: fingerprint(req, body), take_over: false }))
    }

    /// The stored answer when the key was used before (with `Idempotent-Replayed`), 409 while
    /// the request that took it runs, 422 when it was taken by a different request.
    pub async fn replay(&mut self, store: &Store) -> Result<Option<HttpResponse>, ApiError> {
        let (scope, key) = (self.scope.clone(), self.key.clone());
        let Some(record) = store.run(move |conn| -> StoreResult<_> { records::find(conn, &scope, &key) }).await? else {
            return Ok(None);
        };
        match reuse(record, &self.fingerprint, Utc::now().naive_utc())? {
            Some(Start::Replay(reply)) => Ok(Some(replayed(reply.into_response()))),
            Some(Start::Fresh) | None => {
                self.take_over = true;
                Ok(None)
            }
        }
    }

    /// After the work failed: a refusal (below 500) is kept for replay like an answer; a
    /// failure of ours lets go of the key so the client can retry for real.
    pub async fn settle_failure(self, store: &Store, err: &ApiError) {
        // Refused because another request with the key is running: its record is its own.
        if err.code == Code::IdempotencyKeyInUse {
            return;
        }
        let answer = (err.status.as_u16() < 500).then(|| (i32::from(err.status.as_u16()), err.body().to_string()));
        let settled = store
            .write(move |conn| -> StoreResult<()> {
                tablepay_store::changes::touches_no_guest_view();
                let now = Utc::now().naive_utc();
                match records::find(conn, &self.scope, &self.key)? {
                    // Taken by the work, whose provider call then failed.
                    Some(record) if record.in_flight && record.fingerprint == self.fingerprint => match answer {
                        Some((status, body)) => records::complete(conn, &self.scope, &self.key, status, &body),
                        None => records::forget(conn, &self.scope, &self.key),
                    },
                    None => match answer {
                        Some((status, body)) => records::claim_answered(
                            conn,
                            &self.scope,
                            &self.key,
                            &self.fingerprint,
                            now,
                            (status, &body),
                        )
                        .map(drop),
                        None => Ok(()),
                    },
                    // Answered meanwhile by a request with the same key.
                    Some(_) => Ok(()),
                }
            })
            .await;
        if let Err(err) = settled {
            tracing::error!(%err, "could not record the idempotent answer");
        }
    }
}

/// Digest of what makes two requests the same: method, path and body.
fn fingerprint(req: &HttpRequest, body: &Body) -> String {
    let mut material = format!("{} {}\n", req.method(), req.path()).into_bytes();
    material.extend_from_slice(&body.canonical());
    digest(&String::from_utf8_lossy(&material))
}

/// Marks an answer as the replay of an earlier one.
pub fn replayed(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
        actix_web::http::header::HeaderValue::from_static("true"),
    );
    response
}

/// Takes the key for this request, or says why not: the stored answer to replay, a key in
/// use by another request, or a key used for a different request. One transaction.
fn begin(conn: &mut DbConn, scope: &str, key: &str, fingerprint: &str) -> Result<Start, ApiError> {
    tablepay_store::changes::touches_no_guest_view();
    let now = Utc::now().naive_utc();
    if let Some(record) = records::find(conn, scope, key)? {
        if let Some(start) = reuse(record, fingerprint, now)? {
            return Ok(start);
        }
        records::forget(conn, scope, key)?;
    }
    if records::claim(conn, scope, key, fingerprint, now)? { Ok(Start::Fresh) } else { Err(in_use()) }
}

/// What a repeat of a recorded key gets: `None` when the record is past its retention or was
/// abandoned by a process that died mid-request, so that this request takes the key over.
fn reuse(record: Recorded, fingerprint: &str, now: NaiveDateTime) -> Result<Option<Start>, ApiError> {
    if record.created_at < now - Duration::hours(RETENTION_HOURS) {
        return Ok(None);
    }
    if record.fingerprint != fingerprint {
        return Err(reused());
    }
    if record.abandoned(now, in_flight_lease()) {
        return Ok(None);
    }
    match record.answer {
        Some((status, body)) => Ok(Some(Start::Replay(Reply {
            status: StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: serde_json::from_str(&body)?,
        }))),
        None => Err(in_use()),
    }
}

fn reused() -> ApiError {
    AppError::KeyReused.into()
}

fn in_use() -> ApiError {
    AppError::key_in_use().into()
}

/// Deletes answers past their retention; run periodically by `serve`. Returns how many.
pub async fn purge_expired(store: &Store, now: NaiveDateTime) -> Result<usize, ApiError> {
    let cutoff = now - Duration::hours(RETENTION_HOURS);
    store.run(move |conn| -> Result<_, ApiError> { Ok(records::purge_before(conn, cutoff)?) }).await
}
