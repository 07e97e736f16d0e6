//! Venues (created by the platform operator), their staff and their POS API keys.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::staff::IssuedKey;
use crate::app::venues::VenueRequest;
use crate::auth::{Caller, Role, VenueAuth};
use crate::billing::Timestamp;
use crate::error::ApiError;
use crate::http::{Body, ListQuery, PageRequest, Reply, parse_id, text_field};
use crate::idempotency;
use tablepay_domain::{KeyId, VenueId};
use tablepay_store::rows::{Staff, Venue};

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
    #[schema(schema_with = crate::http::words::tax_modes, example = "inclusive")]
    tax_mode: String,
    #[schema(minimum = 0, maximum = 10000)]
    tax_rate_bps: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    service_charge_bps: Option<i64>,
    #[schema(max_items = 10, example = json!([1000, 1500, 2000]))]
    tip_presets_bps: Option<Vec<i64>>,
    #[schema(example = "Europe/Paris", max_length = 64)]
    timezone: Option<String>,
    #[schema(schema_with = crate::http::words::providers, example = "sandbox")]
    payment_provider: Option<String>,
    limits: Option<Limits>,
    /// The company's registered name, printed on receipts and invoices.
    #[schema(max_length = 200, example = "Chez Marcel SARL")]
    legal_name: Option<String>,
    /// The venue's postal address, printed on receipts and invoices (lines separated by newlines).
    #[schema(max_length = 500, example = "12 rue de la Paix\n75002 Paris")]
    address: Option<String>,
    /// The VAT identification number printed on receipts and invoices.
    #[schema(max_length = 32, example = "FR40303265045")]
    vat_id: Option<String>,
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
    pub legal_name: Option<String>,
    pub address: Option<String>,
    pub vat_id: Option<String>,
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
            legal_name: v.legal_name.clone(),
            address: v.address.clone(),
            vat_id: v.vat_id.clone(),
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

impl KeyView {
    fn from_issued(issued: IssuedKey) -> KeyView {
        KeyView {
            id: issued.key.id,
            name: issued.key.name,
            role: issued.role.as_str(),
            key: issued.secret,
            created_at: Timestamp(issued.key.created_at),
        }
    }
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
        let request = VenueRequest {
            name: text_field("name", &input.name, 200)?,
            currency: input.currency,
            tax_mode: input.tax_mode,
            tax_rate_bps: input.tax_rate_bps,
            service_charge_bps: input.service_charge_bps,
            tip_presets_bps: input.tip_presets_bps,
            timezone: input.timezone,
            payment_provider: input.payment_provider,
            server_limits: input.limits.map(|l| (l.server_comp_limit, l.server_refund_limit)),
            legal_name: input.legal_name.as_deref().map(|v| text_field("legal_name", v, 200)).transpose()?,
            address: input.address.as_deref().map(|v| crate::http::multiline_field("address", v, 500)).transpose()?,
            vat_id: input.vat_id.as_deref().map(|v| text_field("vat_id", v, 32)).transpose()?,
        };
        let opened = crate::app::venues::open(&state.db, request, &state.providers.available()).await?;
        Reply::created(VenueCreated {
            venue: VenueView::from_row(&opened.venue),
            api_key: KeyView::from_issued(opened.pos_key),
            manager_key: KeyView::from_issued(opened.manager_key),
        })
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_venue(&venue_id, "venue")?;
    let venue = crate::app::venues::get(&state.db, venue_id).await?;
    Ok(Reply::ok(VenueView::from_row(&venue))?.into_response())
}

/// A field sent as `null` clears it; a field left out stays as it is.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The venue's legal identity; each field optional, `null` to clear it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeVenue {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    legal_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 32)]
    vat_id: Option<Option<String>>,
}

/// `PATCH /v1/venues/{venue_id}` (manager) `{legal_name?, address?, vat_id?}`: changes the legal
/// identity printed on receipts and invoices from now on (`null` clears a field), audited.
#[utoipa::path(
    patch, path = "/v1/venues/{venue_id}", tag = "venues", request_body = ChangeVenue,
    responses(
        (status = 200, description = "The venue as it is now", body = VenueView),
    )
)]
pub async fn change(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::RunVenue)?;
    let input: ChangeVenue = body.json()?;
    let check = |field: &str, value: Option<Option<String>>, multiline: bool, max: usize| -> Result<_, ApiError> {
        Ok(match value {
            Some(Some(text)) if multiline => Some(Some(crate::http::multiline_field(field, &text, max)?)),
            Some(Some(text)) => Some(Some(text_field(field, &text, max)?)),
            other => other,
        })
    };
    let changes = tablepay_store::venues::LegalChanges {
        legal_name: check("legal_name", input.legal_name, false, 200)?,
        address: check("address", input.address, true, 500)?,
        vat_id: check("vat_id", input.vat_id, false, 32)?,
    };
    let venue = crate::app::venues::change_legal(&state.db, caller.0, changes).await?;
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
    #[schema(schema_with = crate::http::words::staff_roles, example = "server")]
    role: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct StaffView {
    id: String,
    name: String,
    role: Role,
    created_at: Timestamp,
}

impl StaffView {
    fn from_row(s: &Staff) -> StaffView {
        StaffView { id: s.id.clone(), name: s.name.clone(), role: s.role, created_at: Timestamp(s.created_at) }
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.require_in(&venue_id, Permission::RunVenue)?;
    let input: CreateStaff = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let name = text_field("name", &input.name, 200)?;
        let (member, key) = crate::app::staff::add_member(&state.db, caller, name, &input.role).await?;
        Reply::created(StaffCreated { staff: StaffView::from_row(&member), key: key.secret, key_id: key.key.id })
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::RunVenue)?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let members = crate::app::staff::members(&state.db, venue_id, cursor, fetch).await?;
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.require_in(&venue_id, Permission::RunVenue)?;
    let input: CreateKey = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let name = text_field("name", &input.name, 200)?;
        let key = crate::app::staff::issue_pos_key(&state.db, venue_id, name).await?;
        Reply::created(KeyView::from_issued(key))
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
    let key_id: KeyId = parse_id(&path)?;
    caller.require(Permission::RunVenue)?;
    crate::app::staff::revoke_key(&state.db, caller, key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
