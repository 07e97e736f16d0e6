//! The guest's phone page and the staff dashboard: files under `api/assets/`, built into the
//! binary (or read from `TABLEPAY_ASSETS_DIR` while working on them), served with a strict
//! Content-Security-Policy. Both pages are plain clients of the public API.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::error::ApiError;
use crate::http::KnownTable;

/// A file of `assets/` built into the binary.
pub struct Embedded {
    pub name: &'static str,
    pub bytes: &'static [u8],
    /// Text files, gzipped at build time.
    pub gzipped: Option<&'static [u8]>,
}

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

/// A file's bytes, and the same gzipped when it is a built-in text file.
struct Asset {
    bytes: Cow<'static, [u8]>,
    gzipped: Option<&'static [u8]>,
}

/// Whether the client takes gzip (every browser does; `gzip;q=0` refuses it).
pub fn accepts_gzip(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers.get_all(actix_web::http::header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            fields.next().is_some_and(|coding| coding.eq_ignore_ascii_case("gzip"))
                && fields.all(|param| param.replace(' ', "") != "q=0")
        })
    })
}

/// The response for an asset: gzipped when the client takes it and a compressed copy exists.
fn respond(mut builder: actix_web::HttpResponseBuilder, asset: Asset, gzip: bool) -> HttpResponse {
    builder.insert_header(("vary", "accept-encoding"));
    match asset.gzipped {
        Some(gzipped) if gzip => builder.insert_header(("content-encoding", "gzip")).body(gzipped),
        _ => builder.body(asset.bytes),
    }
}

/// A file by its path under `assets/`: from the folder when one is configured, else built in.
fn find(state: &AppState, path: &str) -> Option<Asset> {
    let safe = !path.is_empty()
        && path.split('/').all(|part| !part.is_empty() && !part.starts_with('.'))
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !safe {
        return None;
    }
    match &state.settings.assets_dir {
        Some(dir) => std::fs::read(dir.join(path)).ok().map(|bytes| Asset { bytes: Cow::Owned(bytes), gzipped: None }),
        None => embedded::EMBEDDED
            .iter()
            .find(|file| file.name == path)
            .map(|file| Asset { bytes: Cow::Borrowed(file.bytes), gzipped: file.gzipped }),
    }
}

fn cache_control(state: &AppState) -> &'static str {
    if state.settings.assets_dir.is_some() { "no-cache" } else { "public, max-age=300" }
}

/// `GET /assets/{path}`: the pages' scripts, styles and strings.
#[utoipa::path(get, path = "/assets/{path}", tag = "pages", responses(
    (status = 200, description = "A script, style sheet or image of the pages", content_type = "application/octet-stream", body = String),
))]
pub async fn asset(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let asset = find(&state, &path).ok_or_else(|| ApiError::not_found("asset"))?;
    let mut builder = HttpResponse::Ok();
    builder.content_type(content_type(&path)).insert_header(("cache-control", cache_control(&state)));
    Ok(respond(builder, asset, accepts_gzip(req.headers())))
}

/// An HTML page with its policy; `gzip` when the client takes it.
pub fn page(
    state: &AppState,
    name: &str,
    status: StatusCode,
    csp: &'static str,
    gzip: bool,
) -> Result<HttpResponse, ApiError> {
    let asset = find(state, name).ok_or_else(|| ApiError::internal(format!("the page {name} is missing")))?;
    let mut builder = HttpResponse::build(status);
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", csp))
        .insert_header(("cache-control", "no-cache"));
    Ok(respond(builder, asset, gzip))
}

/// `GET /t/{qr_token}`: the guest page the table's QR code opens. An unknown token gets the
/// same page with 404 (it tells the guest to ask a server); a Stripe venue's page may load
/// Stripe.js. Rate limited like the guest API, so the page is no oracle for guessing tokens.
#[utoipa::path(get, path = "/t/{qr_token}", tag = "pages", responses(
    (status = 200, description = "The guest page", content_type = "text/html", body = String),
    (status = 404, description = "The guest page, telling the guest the code is not valid", content_type = "text/html", body = String),
    (status = 429, description = "Rate limited: the page, whose script says when to try again (see Retry-After)", content_type = "text/html", body = String),
))]
pub async fn guest_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let gzip = accepts_gzip(req.headers());
    // The guest limiter looked the token up on the way in.
    let provider = req.extensions().get::<KnownTable>().map(|table| table.payment_provider.clone());
    match provider.as_deref() {
        None => page(&state, "guest.html", StatusCode::NOT_FOUND, CSP, gzip),
        Some("stripe") => page(&state, "guest.html", StatusCode::OK, CSP_STRIPE, gzip),
        Some(_) => page(&state, "guest.html", StatusCode::OK, CSP, gzip),
    }
}

/// `GET /staff`: the staff dashboard (it signs in with a staff key against the API).
#[utoipa::path(get, path = "/staff", tag = "pages", responses(
    (status = 200, description = "The staff dashboard", content_type = "text/html", body = String),
))]
pub async fn staff_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    page(&state, "staff.html", StatusCode::OK, CSP, accepts_gzip(req.headers()))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{ACCEPT_ENCODING, HeaderMap, HeaderValue};

    use super::accepts_gzip;
    use super::embedded::EMBEDDED;

    #[test]
    fn text_files_are_built_in_compressed_and_decode_to_themselves() {
        for file in EMBEDDED {
            let is_text = [".html", ".js", ".css"].iter().any(|ext| file.name.ends_with(ext));
            assert_eq!(file.gzipped.is_some(), is_text, "{}", file.name);
            if let Some(gzipped) = file.gzipped {
                assert!(gzipped.len() < file.bytes.len(), "{} shrinks", file.name);
                assert_eq!(gzipped[..2], [0x1f, 0x8b], "{} is gzip", file.name);
            }
        }
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=1.0, GZIP;q=0.8"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    fn size(name: &str) -> usize {
        EMBEDDED.iter().find(|file| file.name == name).map(|file| file.bytes.len()).unwrap_or_else(|| panic!("{name}"))
    }

    fn gzipped_size(name: &str) -> usize {
        EMBEDDED
            .iter()
            .find(|file| file.name == name)
            .and_then(|file| file.gzipped)
            .map(<[u8]>::len)
            .unwrap_or_else(|| panic!("{name} is not sent gzipped"))
    }

    /// What a phone downloads for the guest page, as sent (gzipped): at most 30 KB.
    #[test]
    fn the_guest_page_stays_small_for_a_phone() {
        let files = ["guest.html", "guest.js", "guest.css", "i18n/guest.js"];
        let sent: usize = files.iter().map(|n| gzipped_size(n)).sum();
        let raw: usize = files.iter().map(|n| size(n)).sum();
        assert!(
            sent <= 30 * 1024,
            "the guest page's page, script, styles and strings are {sent} bytes gzipped ({raw} raw)"
        );
    }

    #[test]
    fn no_page_has_inline_script_or_style() {
        for file in EMBEDDED.iter().filter(|file| file.name.ends_with(".html")) {
            let (name, html) = (file.name, String::from_utf8_lossy(file.bytes));
            assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="), "{name}");
            assert!(!html.contains("http://") && !html.contains("https://"), "{name} loads nothing from elsewhere");
        }
    }
}
