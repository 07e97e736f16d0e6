//! Use cases: a venue's staff members and API keys (issued, listed, revoked), and what the
//! staff dashboard shows first: what waits for a manager, which guests called.

use tablepay_store::rows::{Adjustment, ApiKey, AssistanceRequest, Refund, Staff};
use tablepay_store::{DbConn, Store};

use crate::app::access::{Role, VenueCaller};
use crate::app::{AppError, AppResult};
use crate::audit;
use crate::secrets::{digest, new_api_key};
use tablepay_domain::{KeyId, VenueId};
use tablepay_store::new_id;

/// At most this many of each kind in the approvals queue and the assistance list: a venue
/// with more waiting has a problem no list solves.
const QUEUE_LIMIT: i64 = 200;

/// A key just issued. `secret` is shown in this one answer and never again: only its digest
/// is stored.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub role: Role,
    pub secret: String,
}

/// Issues a key inside the caller's transaction: stores its digest, returns the secret once.
pub fn issue_key(
    conn: &mut DbConn,
    venue_id: &str,
    staff_id: Option<&str>,
    name: &str,
    role: Role,
) -> AppResult<IssuedKey> {
    let secret = new_api_key(role.as_str());
    let key = ApiKey {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        staff_id: staff_id.map(str::to_owned),
        name: name.to_owned(),
        role,
        key_hash: digest(&secret),
        key_prefix: secret.chars().take(12).collect(),
        created_at: tablepay_store::now(),
        revoked_at: None,
    };
    tablepay_store::staff::insert_key(conn, &key)?;
    Ok(IssuedKey { key, role, secret })
}

/// Adds a staff member with their own key, inside the caller's transaction.
pub fn new_member(conn: &mut DbConn, venue_id: &str, name: &str, role: Role) -> AppResult<(Staff, IssuedKey)> {
    let member = Staff {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        name: name.to_owned(),
        role,
        created_at: tablepay_store::now(),
    };
    tablepay_store::staff::insert_member(conn, &member)?;
    let key = issue_key(conn, venue_id, Some(&member.id), name, role)?;
    Ok((member, key))
}

/// A manager adds a server or a manager (never a POS: POS keys belong to no one), audited.
pub async fn add_member(store: &Store, caller: VenueCaller, name: String, role: &str) -> AppResult<(Staff, IssuedKey)> {
    let role = match Role::parse(role) {
        Some(r) if r.is_staff() => r,
        _ => return Err(AppError::invalid("role must be \"server\" or \"manager\"")),
    };
    store
        .write(move |conn| -> AppResult<_> {
            let (member, key) = new_member(conn, caller.venue_id.as_str(), &name, role)?;
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
            Ok((member, key))
        })
        .await
}

/// Up to `fetch` staff members of the venue, oldest first, after the member `after`.
pub async fn members(store: &Store, venue_id: VenueId, after: Option<String>, fetch: i64) -> AppResult<Vec<Staff>> {
    store
        .run(move |conn| -> AppResult<_> {
            Ok(tablepay_store::staff::members_page(conn, venue_id.as_str(), after.as_deref(), fetch)?)
        })
        .await
}

/// A new POS key for the venue.
pub async fn issue_pos_key(store: &Store, venue_id: VenueId, name: String) -> AppResult<IssuedKey> {
    store.write(move |conn| -> AppResult<_> { issue_key(conn, venue_id.as_str(), None, &name, Role::Pos) }).await
}

/// Revokes a key of the caller's venue at once (a lost phone, a POS replaced), audited;
/// revoking a revoked key changes nothing.
pub async fn revoke_key(store: &Store, caller: VenueCaller, key_id: KeyId) -> AppResult<()> {
    store
        .write(move |conn| -> AppResult<_> {
            let key = tablepay_store::staff::find_key(conn, key_id.as_str())?.ok_or(AppError::NotFound("API key"))?;
            caller.require_venue(&key.venue_id, "API key")?;
            if key.revoked_at.is_none() {
                tablepay_store::staff::revoke_key(conn, &key.id, tablepay_store::now())?;
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
        .await
}

/// What waits for a manager's decision, oldest first.
#[derive(Debug)]
pub struct PendingApprovals {
    pub adjustments: Vec<Adjustment>,
    pub refunds: Vec<Refund>,
}

/// The venue's comps, discounts and refunds waiting for a manager.
pub async fn pending_approvals(store: &Store, venue_id: VenueId) -> AppResult<PendingApprovals> {
    store
        .run(move |conn| -> AppResult<_> {
            Ok(PendingApprovals {
                adjustments: tablepay_store::staff::pending_adjustments(conn, venue_id.as_str(), QUEUE_LIMIT)?,
                refunds: tablepay_store::staff::pending_refunds(conn, venue_id.as_str(), QUEUE_LIMIT)?,
            })
        })
        .await
}

/// Guests' open calls for a server, oldest first, each with its table's label.
pub async fn open_calls(store: &Store, venue_id: VenueId) -> AppResult<Vec<(AssistanceRequest, String)>> {
    store
        .run(move |conn| -> AppResult<_> {
            Ok(tablepay_store::staff::open_calls(conn, venue_id.as_str(), QUEUE_LIMIT)?)
        })
        .await
}
