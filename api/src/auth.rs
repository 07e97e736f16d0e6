//! Who is calling: the platform operator's admin token, or a venue's API key (POS, server,
//! manager). Guests carry no credential; their table's QR token is the capability.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::AppState;
pub use crate::app::access::{Role, VenueCaller};
use crate::error::ApiError;
use crate::secrets::constant_time_eq;

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
            let caller = crate::app::access::authenticate(&state.db, &token).await?;
            caller.map(Caller::Venue).ok_or_else(ApiError::unauthorized)
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
