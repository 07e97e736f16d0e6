//! Venues (created by the platform operator), their staff and their POS API keys.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tablepay_domain::{Currency, TaxMode};
use utoipa::ToSchema;

use crate::AppState;
use crate::audit;
use crate::auth::{Caller, Role, VenueAuth};
use crate::billing::Timestamp;
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::http::{Body, ListQuery, PageRequest, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::secrets::{digest, new_api_key};
use tablepay_store::rows::{ApiKey, Staff, Venue};
use tablepay_store::schema::{api_keys, staff, venues};

const DEFAULT_TIP_PRESETS_BPS: &[u32] = &[1000, 1500, 2000];
/// 100 % in basis points; no rate or percentage above it is accepted.
pub const MAX_BPS: i64 = 10_000;
/// The largest amount accepted in any money field (10^15 minor units), far above any bill
/// and far enough below `i64::MAX` that sums of many of them cannot overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateVenue {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    currency: String,
    #[schema(pattern = "^(inclusive|exclusive)$", example = "inclusive")]
    tax_mode: String,
    #[schema(minimum = 0, maximum = 10000)]
    tax_rate_bps: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    service_charge_bps: Option<i64>,
    #[schema(max_items = 10, example = json!([1000, 1500, 2000]))]
    tip_presets_bps: Option<Vec<i64>>,
    #[schema(example = "Europe/Paris", max_length = 64)]
    timezone: Option<String>,
    #[schema(pattern = "^(sandbox|stripe)$", example = "sandbox")]
    payment_provider: Option<String>,
    limits: Option<Limits>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[schema(minimum = 0, maximum = 1e15)]
    pub server_comp_limit: i64,
    #[schema(minimum = 0, maximum = 1e15)]
    pub server_refund_limit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VenueView {
    pub id: String,
    pub name: String,
    pub currency: String,
    /// Decimal places of the currency's minor unit (ISO 4217): amounts are in 10^-exponent.
    pub currency_exponent: u8,
    pub tax_mode: String,
    pub tax_rate_bps: i32,
    pub service_charge_bps: i32,
    pub tip_presets_bps: Vec<u32>,
    pub timezone: String,
    pub payment_provider: String,
    pub limits: Limits,
    pub created_at: Timestamp,
}

/// ISO 4217 decimals of a venue's (validated) currency code.
pub fn currency_exponent(code: &str) -> u8 {
    code.parse::<tablepay_domain::Currency>().map_or(2, |c| c.exponent())
}

impl VenueView {
    pub fn from_row(v: &Venue) -> VenueView {
        VenueView {
            id: v.id.clone(),
            name: v.name.clone(),
            currency: v.currency.clone(),
            currency_exponent: currency_exponent(&v.currency),
            tax_mode: v.tax_mode.clone(),
            tax_rate_bps: v.tax_rate_bps,
            service_charge_bps: v.service_charge_bps,
            tip_presets_bps: tip_presets(v),
            timezone: v.timezone.clone(),
            payment_provider: v.payment_provider.clone(),
            limits: Limits { server_comp_limit: v.server_comp_limit, server_refund_limit: v.server_refund_limit },
            created_at: Timestamp(v.created_at),
        }
    }
}

pub fn tip_presets(v: &Venue) -> Vec<u32> {
    serde_json::from_str(&v.tip_presets_bps).unwrap_or_default()
}

/// A new venue with its POS key and its first manager's key, both shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct VenueCreated {
    venue: VenueView,
    api_key: KeyView,
    manager_key: KeyView,
}

/// A new staff member and their key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct StaffCreated {
    staff: StaffView,
    key: String,
    key_id: String,
}

/// A key; `key` is the secret, shown only in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
struct KeyView {
    id: String,
    name: String,
    role: &'static str,
    key: String,
    created_at: Timestamp,
}

pub fn bps(field: &str, value: i64) -> Result<i32, ApiError> {
    if (0..=MAX_BPS).contains(&value) {
        Ok(value as i32)
    } else {
        Err(ApiError::invalid(format!("{field} must be between 0 and {MAX_BPS} basis points")))
    }
}

pub fn amount(field: &str, value: i64) -> Result<i64, ApiError> {
    if (0..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid(format!("{field} must be between 0 and {MAX_AMOUNT} minor units")))
    }
}

fn validate(input: CreateVenue, providers: &[&str]) -> Result<Venue, ApiError> {
    let name = text_field("name", &input.name, 200)?;
    let currency: Currency =
        input.currency.parse().map_err(|e: tablepay_domain::UnknownCurrency| ApiError::invalid(e.to_string()))?;
    let tax_mode = TaxMode::parse(&input.tax_mode)
        .ok_or_else(|| ApiError::invalid("tax_mode must be \"inclusive\" or \"exclusive\""))?;
    let presets = match input.tip_presets_bps {
        None => DEFAULT_TIP_PRESETS_BPS.to_vec(),
        Some(list) => {
            if list.len() > 6 {
                return Err(ApiError::invalid("tip_presets_bps holds at most 6 presets"));
            }
            list.iter().map(|p| bps("tip_presets_bps", *p).map(|v| v as u32)).collect::<Result<_, _>>()?
        }
    };
    let timezone = input.timezone.unwrap_or_else(|| "UTC".to_owned());
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::invalid(format!("timezone {timezone:?} is not an IANA time zone such as Europe/Paris")));
    }
    let provider = input.payment_provider.unwrap_or_else(|| "sandbox".to_owned());
    if !providers.contains(&provider.as_str()) {
        return Err(ApiError::invalid(format!(
            "payment_provider {provider:?} is not available on this server; choose one of: {}",
            providers.join(", ")
        )));
    }
    let limits = input.limits.unwrap_or(Limits { server_comp_limit: 0, server_refund_limit: 0 });
    Ok(Venue {
        id: new_id(),
        name,
        currency: currency.code().to_owned(),
        tax_mode: tax_mode.as_str().to_owned(),
        tax_rate_bps: bps("tax_rate_bps", input.tax_rate_bps.unwrap_or(0))?,
        service_charge_bps: bps("service_charge_bps", input.service_charge_bps.unwrap_or(0))?,
        tip_presets_bps: serde_json::to_string(&presets)?,
        timezone,
        payment_provider: provider,
        server_comp_limit: amount("limits.server_comp_limit", limits.server_comp_limit)?,
        server_refund_limit: amount("limits.server_refund_limit", limits.server_refund_limit)?,
        created_at: db::now(),
        event_seq: 0,
    })
}

/// Issues a key: stores its digest, returns the secret once.
fn issue_key(
    conn: &mut DbConn,
    venue_id: &str,
    staff_id: Option<&str>,
    name: &str,
    role: Role,
) -> Result<KeyView, ApiError> {
    let key = new_api_key(role.as_str());
    let row = ApiKey {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        staff_id: staff_id.map(str::to_owned),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        key_hash: digest(&key),
        key_prefix: key.chars().take(12).collect(),
        created_at: db::now(),
        revoked_at: None,
    };
    diesel::insert_into(api_keys::table).values(&row).execute(conn)?;
    Ok(KeyView { id: row.id, name: row.name, role: role.as_str(), key, created_at: Timestamp(row.created_at) })
}

fn new_staff(conn: &mut DbConn, venue_id: &str, name: &str, role: Role) -> Result<(Staff, KeyView), ApiError> {
    let member = Staff {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        created_at: db::now(),
    };
    diesel::insert_into(staff::table).values(&member).execute(conn)?;
    let key = issue_key(conn, venue_id, Some(&member.id), name, role)?;
    Ok((member, key))
}

/// `POST /v1/venues` (admin token).
#[utoipa::path(
    post, path = "/v1/venues", tag = "venues", request_body = CreateVenue,
    responses(
        (status = 201, description = "The venue, its POS key and its first manager key", body = VenueCreated),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    if !matches!(caller, Caller::Admin) {
        return Err(ApiError::forbidden("only the platform operator's admin token creates venues"));
    }
    let input: CreateVenue = body.json()?;
    idempotency::run(&state, &req, "admin".into(), &body, || async {
        let venue = validate(input, &state.providers.available())?;
        let db = state.db.clone();
        db.write(move |conn| {
            diesel::insert_into(venues::table).values(&venue).execute(conn)?;
            let pos = issue_key(conn, &venue.id, None, "POS", Role::Pos)?;
            let (_, manager) = new_staff(conn, &venue.id, "Manager", Role::Manager)?;
            Reply::created(VenueCreated { venue: VenueView::from_row(&venue), api_key: pos, manager_key: manager })
        })
        .await
    })
    .await
}

/// `GET /v1/venues/{venue_id}`: the venue of the credential.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}", tag = "venues",
    responses(
        (status = 200, description = "OK", body = VenueView),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    let venue =
        state.db.run(move |conn| Ok(venues::table.find(&venue_id).select(Venue::as_select()).first(conn)?)).await?;
    Ok(Reply::ok(VenueView::from_row(&venue))?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateStaff {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    #[schema(pattern = "^(server|manager)$", example = "server")]
    role: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct StaffView {
    id: String,
    name: String,
    role: String,
    created_at: Timestamp,
}

impl StaffView {
    fn from_row(s: &Staff) -> StaffView {
        StaffView { id: s.id.clone(), name: s.name.clone(), role: s.role.clone(), created_at: Timestamp(s.created_at) }
    }
}

/// `POST /v1/venues/{venue_id}/staff` (manager).
#[utoipa::path(
    post, path = "/v1/venues/{venue_id}/staff", tag = "venues", request_body = CreateStaff,
    responses(
        (status = 201, description = "The staff member and their key", body = StaffCreated),
    )
)]
pub async fn create_staff(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let venue_id = parse_id(&path, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(&[Role::Manager])?;
    let input: CreateStaff = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let name = text_field("name", &input.name, 200)?;
        let role = match Role::parse(&input.role) {
            Some(r @ (Role::Server | Role::Manager)) => r,
            _ => return Err(ApiError::invalid("role must be \"server\" or \"manager\"")),
        };
        state
            .db
            .write(move |conn| {
                let (member, key) = new_staff(conn, &venue_id, &name, role)?;
                audit::record(
                    conn,
                    &caller,
                    audit::Entry {
                        action: "staff.created",
                        subject_id: Some(&member.id),
                        details: serde_json::json!({"name": member.name, "role": member.role}),
                        ..audit::Entry::default()
                    },
                )?;
                Reply::created(StaffCreated { staff: StaffView::from_row(&member), key: key.key, key_id: key.id })
            })
            .await
    })
    .await
}

/// `GET /v1/venues/{venue_id}/staff` (manager).
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/staff", tag = "venues", params(ListQuery),
    responses(
        (status = 200, description = "OK", body = crate::http::List<StaffView>),
    )
)]
pub async fn list_staff(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(&[Role::Manager])?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let members: Vec<Staff> = state
        .db
        .run(move |conn| {
            let mut q = staff::table.filter(staff::venue_id.eq(&venue_id)).into_boxed();
            if let Some(cursor) = cursor {
                q = q.filter(staff::id.gt(cursor));
            }
            // Ids are time-ordered: oldest first.
            Ok(q.order(staff::id.asc()).limit(fetch).select(Staff::as_select()).load(conn)?)
        })
        .await?;
    Ok(page.reply(&members, |m| &m.id, StaffView::from_row)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
}

/// `POST /v1/venues/{venue_id}/api-keys` (manager): a new POS key.
#[utoipa::path(
    post, path = "/v1/venues/{venue_id}/api-keys", tag = "venues", request_body = CreateKey,
    responses(
        (status = 201, description = "The key, shown once", body = KeyView),
    )
)]
pub async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let venue_id = parse_id(&path, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(&[Role::Manager])?;
    let input: CreateKey = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let name = text_field("name", &input.name, 200)?;
        state.db.write(move |conn| Reply::created(issue_key(conn, &venue_id, None, &name, Role::Pos)?)).await
    })
    .await
}

/// `DELETE /v1/api-keys/{id}` (manager): revokes a POS or staff key of the venue at once.
#[utoipa::path(
    delete, path = "/v1/api-keys/{key_id}", tag = "venues",
    responses(
        (status = 204, description = "Revoked"),
    )
)]
pub async fn revoke_key(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let key_id = parse_id(&path, "API key")?;
    caller.require_role(&[Role::Manager])?;
    state
        .db
        .write(move |conn| {
            let key: Option<ApiKey> =
                api_keys::table.find(&key_id).select(ApiKey::as_select()).first(conn).optional()?;
            let key = key.ok_or_else(|| ApiError::not_found("API key"))?;
            caller.require_venue(&key.venue_id, "API key")?;
            if key.revoked_at.is_none() {
                diesel::update(api_keys::table.find(&key.id)).set(api_keys::revoked_at.eq(db::now())).execute(conn)?;
                audit::record(
                    conn,
                    &caller,
                    audit::Entry {
                        action: "api_key.revoked",
                        subject_id: Some(&key.id),
                        details: serde_json::json!({"name": key.name, "role": key.role, "prefix": key.key_prefix}),
                        ..audit::Entry::default()
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
