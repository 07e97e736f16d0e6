//! Request plumbing shared by every route: capped bodies parsed after authentication, ids
//! parsed at the edge, and the JSON replies.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tablepay_domain::InvalidId;
use uuid::Uuid;

use crate::error::{ApiError, Code};

/// Largest request body accepted; a bill of a few hundred items fits many times over.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The raw request body, at most [`MAX_BODY_BYTES`] (413 beyond). Parsed with
/// [`Body::json`] inside the handler, after the caller is known, so an anonymous caller
/// learns nothing from validation errors.
#[derive(Debug, Clone)]
pub struct Body(pub Bytes);

impl Body {
    /// Parses the body as `T`: 400 for malformed JSON, wrong types, unknown fields and
    /// numbers outside `i64`; 415 for a declared non-JSON content type. A whole number written
    /// with a fraction (`2.0`, `1e3`) is the integer it equals, as JSON Schema counts it.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        let StrictJson(value) =
            serde_json::from_slice(&self.0).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
        // Every body is an object: serde would otherwise read `[null, null]` as a struct's fields.
        if value.is_array() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        serde_path_to_error::deserialize(value)
            .map_err(|e| ApiError::bad_request(format!("invalid request body at {}: {}", e.path(), e.inner())))
    }

    /// An optional body: none at all, or JSON `null`, is `T::default()`; anything else parses
    /// as [`Body::json`] does.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        Ok(self.json::<Option<T>>()?.unwrap_or_default())
    }

    /// The body as canonical JSON (sorted keys, no spaces), or the raw bytes when it is not
    /// JSON; the idempotency fingerprint is taken over this.
    pub fn canonical(&self) -> Vec<u8> {
        match serde_json::from_slice::<Value>(&self.0) {
            Ok(v) => v.to_string().into_bytes(),
            Err(_) => self.0.to_vec(),
        }
    }
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Body, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            if let Some(ct) = content_type {
                let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                if !(essence == "application/json" || essence.ends_with("+json")) {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        Code::UnsupportedMediaType,
                        format!("request bodies are application/json, not {essence}"),
                    ));
                }
            }
            let mut buf = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
                if buf.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(Body(buf.freeze()))
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge,
        format!("request bodies are limited to {} KiB", MAX_BODY_BYTES / 1024),
    )
}

/// Parses an id from the path into its domain type, once; anything that is not a UUID cannot
/// name a resource (404 naming what the id should have named).
pub fn parse_id<I: FromStr<Err = InvalidId>>(raw: &str) -> Result<I, ApiError> {
    raw.parse().map_err(|e: InvalidId| ApiError::not_found(e.what))
}

/// A page cursor or filter that must be an id of `what` rows; 400 when it is not.
pub fn parse_filter_id<I: FromStr<Err = InvalidId>>(raw: &str, what: &str) -> Result<I, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("{what} is invalid")))
}

/// A JSON reply with a status; what idempotency records store and replay.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: impl serde::Serialize) -> Result<Reply, ApiError> {
        Reply::with_status(StatusCode::OK, body)
    }

    pub fn created(body: impl serde::Serialize) -> Result<Reply, ApiError> {
        Reply::with_status(StatusCode::CREATED, body)
    }

    pub fn with_status(status: StatusCode, body: impl serde::Serialize) -> Result<Reply, ApiError> {
        Ok(Reply { status, body: serde_json::to_value(body)? })
    }

    pub fn into_response(self) -> HttpResponse {
        let content_type = if self.status.is_success() { "application/json" } else { "application/problem+json" };
        HttpResponse::build(self.status).insert_header((header::CONTENT_TYPE, content_type)).body(self.body.to_string())
    }
}

/// Checks a name-like field: trimmed, 1 to `max` characters, no control characters.
pub fn text_field(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!("{field} must not contain control characters")));
    }
    Ok(trimmed.to_owned())
}

/// Checks a field of several lines, such as a postal address: [`text_field`]'s rules for
/// each line, with line breaks (`\n` or `\r\n`) allowed between them; blank lines are dropped.
pub fn multiline_field(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let lines: Vec<&str> = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let joined = lines.join("\n");
    if joined.is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    if joined.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be at most {max} characters")));
    }
    if lines.iter().any(|l| l.chars().any(char::is_control)) {
        return Err(ApiError::invalid(format!("{field} must not contain control characters other than line breaks")));
    }
    Ok(joined)
}

/// Inputs kept as text in Rust (so that a wrong word gets a 422 naming the words, not serde's
/// 400) are still enums in the document: generated clients and fuzzers see the closed set.
pub mod words {
    use utoipa::openapi::{Object, ObjectBuilder, Type};

    fn of(values: &[&str]) -> Object {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).build()
    }

    pub fn tax_modes() -> Object {
        of(&["inclusive", "exclusive"])
    }

    pub fn providers() -> Object {
        of(&["sandbox", "stripe"])
    }

    /// The roles a manager gives staff; POS keys are issued on their own route.
    pub fn staff_roles() -> Object {
        of(&["server", "manager"])
    }

    pub fn adjustment_kinds() -> Object {
        of(&["comp", "discount"])
    }

    pub fn tender_kinds() -> Object {
        of(&["cash", "card_present", "voucher", "other"])
    }

    /// The sandbox's test cards: succeeds, declined, insufficient funds.
    pub fn test_cards() -> Object {
        of(&["4242424242424242", "4000000000000002", "4000000000009995"])
    }
}

/// A body read in one pass into a `Value`, with two rules a plain `Value` lacks: an object
/// that names a key twice is refused (a `Value` keeps one of them silently, and parsers differ
/// on which), and a whole number written with a fraction (`2.0`, `1e3`) of at most 2^53 − 1,
/// where it is exact, is that integer, as JSON Schema counts it.
struct StrictJson(Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictJsonVisitor)
    }
}

struct StrictJsonVisitor;

impl<'de> serde::de::Visitor<'de> for StrictJsonVisitor {
    type Value = StrictJson;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<StrictJson, E> {
        const EXACT: f64 = 9_007_199_254_740_991.0;
        if v.fract() == 0.0 && v.abs() <= EXACT {
            // Exact: a whole number of magnitude at most 2^53 − 1 converts without loss.
            #[allow(clippy::cast_possible_truncation)]
            return Ok(StrictJson(Value::from(v as i64)));
        }
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(StrictJson(Value::Array(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            let StrictJson(value) = map.next_value()?;
            fields.insert(key, value);
        }
        Ok(StrictJson(Value::Object(fields)))
    }
}

/// `?limit=&cursor=` of a list, as sent.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
    )]
    pub cursor: Option<String>,
}

/// `?limit=&cursor=` of a list, checked: limit 1 to 200 (default 50), cursor an id.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    /// Rows older than this id (ids are time-ordered).
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::bad_request("limit must be from 1 to 200"));
        }
        // A cursor is the id of the last row of the previous page, whatever its kind.
        let cursor = cursor
            .map(|c| Uuid::parse_str(c).map(|u| u.hyphenated().to_string()))
            .transpose()
            .map_err(|_| ApiError::bad_request("cursor is invalid"))?;
        Ok(PageRequest { limit, cursor })
    }

    /// How many rows to load: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    pub fn from_query(query: &ListQuery) -> Result<PageRequest, ApiError> {
        PageRequest::parse(query.limit, query.cursor.as_deref())
    }

    /// `{"data": [...], "next_cursor": …}` from rows loaded in the list's order with [`Self::fetch`].
    pub fn reply<R, T: serde::Serialize + utoipa::ToSchema>(
        &self,
        rows: &[R],
        id: impl Fn(&R) -> &str,
        view: impl Fn(&R) -> T,
    ) -> Result<Reply, ApiError> {
        let page = &rows[..rows.len().min(self.limit as usize)];
        let next = (rows.len() > page.len()).then(|| page.last().map(|r| id(r).to_owned())).flatten();
        let data: Vec<T> = page.iter().map(view).collect();
        Reply::ok(List { data, next_cursor: next })
    }
}

/// A list: `{"data": [...], "next_cursor": null|"..."}`; pass `next_cursor` as `?cursor=` for more.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct List<T: utoipa::ToSchema> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The table a guest route's QR token names, found by the limiter and left in the request's
/// extensions for the handler.
pub use crate::app::live::GuestTable as KnownTable;
