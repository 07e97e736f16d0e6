//! Use case: open a venue (the platform operator's job) with its POS key and its first
//! manager; and the bounds every rate and amount a venue or a bill states must keep.

use tablepay_domain::{Currency, TaxMode, UnknownCurrency};
use tablepay_store::Store;
use tablepay_store::rows::Venue;
use tablepay_store::venues::Figures;

use crate::app::access::Role;
use crate::app::staff::{IssuedKey, issue_key, new_member};
use crate::app::{AppError, AppResult};
use tablepay_domain::VenueId;
use tablepay_store::new_id;

/// Tip suggestions of a venue that names none: 10 %, 15 %, 20 %.
const DEFAULT_TIP_PRESETS_BPS: &[u32] = &[1000, 1500, 2000];
/// At most this many tip suggestions: more do not fit a phone's screen.
const MAX_TIP_PRESETS: usize = 6;
/// 100 % in basis points; no rate or percentage above it is accepted.
pub const MAX_BPS: i64 = 10_000;
/// The largest amount accepted in any money field (10^15 minor units), far above any bill
/// and far enough below `i64::MAX` that sums of many of them cannot overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// A rate in basis points, from 0 to 100 %.
pub fn bps(field: &str, value: i64) -> AppResult<i32> {
    if (0..=MAX_BPS).contains(&value) {
        Ok(value as i32)
    } else {
        Err(AppError::invalid(format!("{field} must be between 0 and {MAX_BPS} basis points")))
    }
}

/// An amount in minor units, from 0 to [`MAX_AMOUNT`].
pub fn amount(field: &str, value: i64) -> AppResult<i64> {
    if (0..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(format!("{field} must be between 0 and {MAX_AMOUNT} minor units")))
    }
}

/// What a new venue states, as sent; [`open`] checks it. Absent settings take their defaults.
#[derive(Debug, Default)]
pub struct VenueRequest {
    /// Already checked as a name (trimmed, not empty, no control characters).
    pub name: String,
    pub currency: String,
    pub tax_mode: String,
    pub tax_rate_bps: Option<i64>,
    pub service_charge_bps: Option<i64>,
    pub tip_presets_bps: Option<Vec<i64>>,
    pub timezone: Option<String>,
    pub payment_provider: Option<String>,
    /// What a server may comp and refund per bill without a manager: (comps, refunds).
    pub server_limits: Option<(i64, i64)>,
    /// Printed on receipts and invoices; each already checked as text.
    pub legal_name: Option<String>,
    pub address: Option<String>,
    pub vat_id: Option<String>,
}

/// A new venue with its POS key and its first manager's key, whose secrets exist only here.
#[derive(Debug)]
pub struct OpenedVenue {
    pub venue: Venue,
    pub pos_key: IssuedKey,
    pub manager_key: IssuedKey,
}

/// Opens a venue whose payments go through one of `providers` (those this server runs): the
/// venue, its POS key and a manager with a key, in one transaction.
pub async fn open(store: &Store, request: VenueRequest, providers: &[&str]) -> AppResult<OpenedVenue> {
    let venue = settle(request, providers)?;
    store
        .write(move |conn| -> AppResult<_> {
            tablepay_store::venues::insert(conn, &venue)?;
            let pos_key = issue_key(conn, &venue.id, None, "POS", Role::Pos)?;
            let (_, manager_key) = new_member(conn, &venue.id, "Manager", Role::Manager)?;
            Ok(OpenedVenue { venue, pos_key, manager_key })
        })
        .await
}

/// The venue a request describes, or the first rule it breaks.
fn settle(request: VenueRequest, providers: &[&str]) -> AppResult<Venue> {
    let currency: Currency = request.currency.parse().map_err(|e: UnknownCurrency| AppError::invalid(e.to_string()))?;
    let tax_mode = TaxMode::parse(&request.tax_mode)
        .ok_or_else(|| AppError::invalid("tax_mode must be \"inclusive\" or \"exclusive\""))?;
    let presets = match request.tip_presets_bps {
        None => DEFAULT_TIP_PRESETS_BPS.to_vec(),
        Some(list) => {
            if list.len() > MAX_TIP_PRESETS {
                return Err(AppError::invalid(format!("tip_presets_bps holds at most {MAX_TIP_PRESETS} presets")));
            }
            list.iter().map(|p| bps("tip_presets_bps", *p).map(|v| v as u32)).collect::<AppResult<_>>()?
        }
    };
    let timezone = request.timezone.unwrap_or_else(|| "UTC".to_owned());
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(AppError::invalid(format!("timezone {timezone:?} is not an IANA time zone such as Europe/Paris")));
    }
    let provider = request.payment_provider.unwrap_or_else(|| "sandbox".to_owned());
    if !providers.contains(&provider.as_str()) {
        return Err(AppError::invalid(format!(
            "payment_provider {provider:?} is not available on this server; choose one of: {}",
            providers.join(", ")
        )));
    }
    let (comp_limit, refund_limit) = request.server_limits.unwrap_or((0, 0));
    Ok(Venue {
        id: new_id(),
        name: request.name,
        currency: currency.code().to_owned(),
        tax_mode: tax_mode.as_str().to_owned(),
        tax_rate_bps: bps("tax_rate_bps", request.tax_rate_bps.unwrap_or(0))?,
        service_charge_bps: bps("service_charge_bps", request.service_charge_bps.unwrap_or(0))?,
        tip_presets_bps: serde_json::to_string(&presets).map_err(|e| AppError::internal(format!("json: {e}")))?,
        timezone,
        payment_provider: provider,
        server_comp_limit: amount("limits.server_comp_limit", comp_limit)?,
        server_refund_limit: amount("limits.server_refund_limit", refund_limit)?,
        created_at: tablepay_store::now(),
        event_seq: 0,
        legal_name: request.legal_name,
        address: request.address,
        vat_id: request.vat_id,
        receipt_seq: 0,
        invoice_seq: 0,
    })
}

/// A venue, for a credential of it.
pub async fn get(store: &Store, venue_id: VenueId) -> AppResult<Venue> {
    store.run(move |conn| -> AppResult<_> { Ok(tablepay_store::venues::load(conn, venue_id.as_str())?) }).await
}

/// The figures every process reports the same for the operator (payments and webhook
/// deliveries by status, the oldest due delivery), read now.
pub async fn figures(store: &Store) -> AppResult<Figures> {
    store.run(move |conn| -> AppResult<_> { Ok(tablepay_store::venues::figures(conn, tablepay_store::now())?) }).await
}

/// A manager changes the legal identity printed on the venue's receipts and invoices, audited.
/// Receipts and invoices already issued keep what they printed.
pub async fn change_legal(
    store: &Store,
    caller: crate::app::access::VenueCaller,
    changes: tablepay_store::venues::LegalChanges,
) -> AppResult<Venue> {
    store
        .write(move |conn| -> AppResult<_> {
            let venue = tablepay_store::venues::update_legal(conn, caller.venue_id.as_str(), &changes)?;
            crate::audit::record(
                conn,
                &caller,
                crate::audit::Entry {
                    action: "venue.legal_changed",
                    subject_id: Some(&venue.id),
                    details: serde_json::json!({"legal_name": venue.legal_name, "address": venue.address, "vat_id": venue.vat_id}),
                    ..crate::audit::Entry::default()
                },
            )?;
            Ok(venue)
        })
        .await
}
