//! `Idempotency-Key` for every creating POST (API.md, Conventions).
//!
//! The key is recorded *before* the work starts, in its own committed transaction, so a
//! retry that arrives while the first attempt runs gets 409 `idempotency_key_in_use`, and
//! one that arrives after gets the stored answer. Keys are scoped to the credential.
//! Answers below 500 are stored and replayed for 24 h; a 5xx forgets the key so the client
//! can retry for real.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::AppState;
use crate::db::unique_violation;
use crate::error::{ApiError, Code};
use crate::http::{Body, Reply};
use crate::secrets::digest;
use tablepay_store::rows::IdempotencyRecord;
use tablepay_store::schema::idempotency_keys;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// How long an answer is kept for replay.
pub const RETENTION_HOURS: i64 = 24;
/// An in-flight record older than this belongs to a process that died mid-request: a retry
/// may take it over.
const IN_FLIGHT_LEASE_SECONDS: i64 = 300;

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
    let Some(raw_key) = req.headers().get(HEADER) else {
        return Ok(work().await?.into_response());
    };
    let key = raw_key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters"))?
        .to_owned();
    let mut material = format!("{} {}\n", req.method(), req.path()).into_bytes();
    material.extend_from_slice(&body.canonical());
    let fingerprint = digest(&String::from_utf8_lossy(&material));

    let start = {
        let (scope, key, fingerprint) = (scope.clone(), key.clone(), fingerprint.clone());
        state.db.write(move |conn| begin(conn, &scope, &key, &fingerprint)).await?
    };
    if let Start::Replay(reply) = start {
        let mut response = reply.into_response();
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            actix_web::http::header::HeaderValue::from_static("true"),
        );
        return Ok(response);
    }

    let outcome = work().await;
    let stored = match &outcome {
        Ok(reply) => Some(reply.clone()),
        Err(err) if err.status.as_u16() < 500 => Some(Reply { status: err.status, body: err.body() }),
        Err(_) => None,
    };
    let finish = state
        .db
        .write(move |conn| {
            let target = idempotency_keys::table.find((&scope, &key));
            match stored {
                Some(reply) => diesel::update(target)
                    .set((
                        idempotency_keys::status.eq("complete"),
                        idempotency_keys::response_status.eq(i32::from(reply.status.as_u16())),
                        idempotency_keys::response_body.eq(reply.body.to_string()),
                    ))
                    .execute(conn)?,
                None => diesel::delete(target).execute(conn)?,
            };
            Ok(())
        })
        .await;
    if let Err(err) = finish {
        tracing::error!(%err, "could not record the idempotent answer");
    }
    outcome.map(Reply::into_response)
}

fn begin(conn: &mut crate::db::DbConn, scope: &str, key: &str, fingerprint: &str) -> Result<Start, ApiError> {
    let now = Utc::now().naive_utc();
    let existing: Option<IdempotencyRecord> =
        idempotency_keys::table.find((scope, key)).select(IdempotencyRecord::as_select()).first(conn).optional()?;
    if let Some(record) = existing {
        let expired = record.created_at < now - Duration::hours(RETENTION_HOURS);
        let abandoned =
            record.status == "in_flight" && record.created_at < now - Duration::seconds(IN_FLIGHT_LEASE_SECONDS);
        if !expired && record.fingerprint != fingerprint {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request; use a new key",
            ));
        }
        if !expired && !abandoned {
            return match (record.status.as_str(), record.response_status, record.response_body) {
                ("complete", Some(status), Some(body)) => Ok(Start::Replay(Reply {
                    status: StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    body: serde_json::from_str(&body)?,
                })),
                _ => Err(in_use()),
            };
        }
        diesel::delete(idempotency_keys::table.find((scope, key))).execute(conn)?;
    }
    let record = IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        status: "in_flight".into(),
        response_status: None,
        response_body: None,
        created_at: now,
    };
    match diesel::insert_into(idempotency_keys::table).values(&record).execute(conn) {
        Ok(_) => Ok(Start::Fresh),
        Err(e) if unique_violation(&e).is_some() => Err(in_use()),
        Err(e) => Err(e.into()),
    }
}

fn in_use() -> ApiError {
    ApiError::conflict(
        Code::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
}

/// Deletes answers past their retention; run periodically by `serve`.
pub fn purge_expired(conn: &mut crate::db::DbConn, now: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::created_at.lt(now - Duration::hours(RETENTION_HOURS))),
    )
    .execute(conn)?)
}
