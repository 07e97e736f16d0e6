//! Who is calling: the platform operator's admin token, or a venue's API key (POS, server,
//! manager). Guests carry no credential; their table's QR token is the capability.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use diesel::prelude::*;

use crate::AppState;
use crate::error::ApiError;
use crate::secrets::{constant_time_eq, digest};
use tablepay_store::rows::ApiKey;
use tablepay_store::schema::{api_keys, staff};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Pos,
    Server,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pos => "pos",
            Role::Server => "server",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "pos" => Some(Role::Pos),
            "server" => Some(Role::Server),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }
}

/// A venue credential that passed authentication.
#[derive(Debug, Clone)]
pub struct VenueCaller {
    pub key_id: String,
    pub venue_id: String,
    pub role: Role,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub key_name: String,
}

impl VenueCaller {
    /// 404 for anything of another venue: a credential never learns what exists elsewhere.
    pub fn require_venue(&self, venue_id: &str, what: &str) -> Result<(), ApiError> {
        if self.venue_id == venue_id { Ok(()) } else { Err(ApiError::not_found(what)) }
    }

    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "a {} credential may not do this; it needs one of: {}",
                self.role.as_str(),
                names.join(", ")
            )))
        }
    }

    /// Who acts, for audit and `created_by`: the staff member, or the POS key.
    pub fn actor_id(&self) -> &str {
        self.staff_id.as_deref().unwrap_or(&self.key_id)
    }

    pub fn actor_name(&self) -> &str {
        self.staff_name.as_deref().unwrap_or(&self.key_name)
    }

    /// The idempotency scope of this credential.
    pub fn scope(&self) -> String {
        format!("key:{}", self.key_id)
    }
}

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin,
    Venue(VenueCaller),
}

impl Caller {
    /// The venue credential, or 403 for the admin token (it creates venues, nothing more).
    pub fn venue(self) -> Result<VenueCaller, ApiError> {
        match self {
            Caller::Venue(v) => Ok(v),
            Caller::Admin => Err(ApiError::forbidden("the admin token creates venues; use a venue credential")),
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
                return Ok(Caller::Admin);
            }
            let hash = digest(&token);
            let found = state
                .db
                .run(move |conn| {
                    let key: Option<ApiKey> = api_keys::table
                        .filter(api_keys::key_hash.eq(&hash))
                        .filter(api_keys::revoked_at.is_null())
                        .select(ApiKey::as_select())
                        .first(conn)
                        .optional()?;
                    let Some(key) = key else { return Ok(None) };
                    let staff_name = match &key.staff_id {
                        Some(id) => staff::table.find(id).select(staff::name).first::<String>(conn).optional()?,
                        None => None,
                    };
                    Ok(Some((key, staff_name)))
                })
                .await?;
            let (key, staff_name) = found.ok_or_else(ApiError::unauthorized)?;
            let role = Role::parse(&key.role).ok_or_else(|| ApiError::internal(format!("bad role {}", key.role)))?;
            Ok(Caller::Venue(VenueCaller {
                key_id: key.id,
                venue_id: key.venue_id,
                role,
                staff_id: key.staff_id,
                staff_name,
                key_name: key.name,
            }))
        })
    }
}

/// A venue credential (POS, server or manager); the admin token gets 403.
#[derive(Debug, Clone)]
pub struct VenueAuth(pub VenueCaller);

impl FromRequest for VenueAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<VenueAuth, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move { caller.await?.venue().map(VenueAuth) })
    }
}
