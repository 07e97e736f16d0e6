//! The guest's phone page and the staff dashboard: files under `api/assets/`, built into the
//! binary (or read from `TABLEPAY_ASSETS_DIR` while working on them), served with a strict
//! Content-Security-Policy. Both pages are plain clients of the public API.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel::prelude::*;

use crate::AppState;
use crate::db::schema::{dining_tables, venues};
use crate::error::ApiError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// No inline script or style, nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The same, plus what Stripe.js and its Payment Element need: for Stripe venues' guest pages only.
const CSP_STRIPE: &str = "default-src 'none'; script-src 'self' https://js.stripe.com; style-src 'self'; \
    img-src 'self' data: https://*.stripe.com; connect-src 'self' https://api.stripe.com; \
    frame-src https://js.stripe.com https://hooks.stripe.com; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A file by its path under `assets/`: from the folder when one is configured, else built in.
fn find(state: &AppState, path: &str) -> Option<Cow<'static, [u8]>> {
    let safe = !path.is_empty()
        && path.split('/').all(|part| !part.is_empty() && !part.starts_with('.'))
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !safe {
        return None;
    }
    match &state.settings.assets_dir {
        Some(dir) => std::fs::read(dir.join(path)).ok().map(Cow::Owned),
        None => embedded::EMBEDDED.iter().find(|(name, _)| *name == path).map(|(_, bytes)| Cow::Borrowed(*bytes)),
    }
}

fn cache_control(state: &AppState) -> &'static str {
    if state.settings.assets_dir.is_some() { "no-cache" } else { "public, max-age=300" }
}

/// `GET /assets/{path}`: the pages' scripts, styles and strings.
#[utoipa::path(get, path = "/assets/{path}", tag = "pages", responses(
    (status = 200, description = "A script, style sheet or image of the pages", content_type = "application/octet-stream", body = String),
))]
pub async fn asset(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let bytes = find(&state, &path).ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(&path))
        .insert_header(("cache-control", cache_control(&state)))
        .body(bytes))
}

pub fn page(state: &AppState, name: &str, status: StatusCode, csp: &'static str) -> Result<HttpResponse, ApiError> {
    let bytes = find(state, name).ok_or_else(|| ApiError::internal(format!("the page {name} is missing")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", csp))
        .insert_header(("cache-control", "no-cache"))
        .body(bytes))
}

/// `GET /t/{qr_token}`: the guest page the table's QR code opens. An unknown token gets the
/// same page with 404 (it tells the guest to ask a server); a Stripe venue's page may load
/// Stripe.js. Rate limited like the guest API, so the page is no oracle for guessing tokens.
#[utoipa::path(get, path = "/t/{qr_token}", tag = "pages", responses(
    (status = 200, description = "The guest page", content_type = "text/html", body = String),
    (status = 404, description = "The guest page, telling the guest the code is not valid", content_type = "text/html", body = String),
    (status = 429, description = "Rate limited: the page, whose script says when to try again (see Retry-After)", content_type = "text/html", body = String),
))]
pub async fn guest_page(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let provider: Option<String> = if token.len() > 128 {
        None
    } else {
        state
            .db
            .run(move |conn| {
                Ok(dining_tables::table
                    .inner_join(venues::table)
                    .filter(dining_tables::qr_token.eq(&token))
                    .select(venues::payment_provider)
                    .first(conn)
                    .optional()?)
            })
            .await?
    };
    match provider.as_deref() {
        None => page(&state, "guest.html", StatusCode::NOT_FOUND, CSP),
        Some("stripe") => page(&state, "guest.html", StatusCode::OK, CSP_STRIPE),
        Some(_) => page(&state, "guest.html", StatusCode::OK, CSP),
    }
}

/// `GET /staff`: the staff dashboard (it signs in with a staff key against the API).
#[utoipa::path(get, path = "/staff", tag = "pages", responses(
    (status = 200, description = "The staff dashboard", content_type = "text/html", body = String),
))]
pub async fn staff_page(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    page(&state, "staff.html", StatusCode::OK, CSP)
}

#[cfg(test)]
mod tests {
    use super::embedded::EMBEDDED;

    fn size(name: &str) -> usize {
        EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, bytes)| bytes.len()).unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn the_guest_page_stays_small_for_a_phone() {
        let total: usize = ["guest.html", "guest.js", "guest.css", "i18n/guest.js"].iter().map(|n| size(n)).sum();
        assert!(total < 60 * 1024, "the guest page's script, styles and strings are {total} bytes");
    }

    #[test]
    fn no_page_has_inline_script_or_style() {
        for (name, bytes) in EMBEDDED.iter().filter(|(n, _)| n.ends_with(".html")) {
            let html = String::from_utf8_lossy(bytes);
            assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="), "{name}");
            assert!(!html.contains("http://") && !html.contains("https://"), "{name} loads nothing from elsewhere");
        }
    }
}
