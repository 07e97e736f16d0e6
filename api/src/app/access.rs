//! Who acts: a venue credential resolved from its bearer key, and the two questions every use
//! case asks of it (is this thing of the caller's venue; may this role do this).

pub use tablepay_domain::Role;
use tablepay_domain::VenueId;
use tablepay_store::Store;

use crate::app::{AppError, AppResult};
use crate::secrets::digest;

/// What a venue credential asks to do. Who may do it is written once, in [`Permission::roles`];
/// routes and use cases name the permission, never a list of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Open bills, replace their lines, void lines, close bills: the POS, or a manager standing in for it.
    KeepBills,
    /// Add and change tables.
    KeepTables,
    /// Comp, discount and refund within the venue's limits, and answer guests' calls.
    ServeGuests,
    /// Approve or reject what others requested above their limits.
    Decide,
    /// Staff, API keys, the audit log and the daily report.
    RunVenue,
    /// Webhook endpoints and their deliveries: the POS that receives them, or a manager.
    KeepWebhooks,
    /// Record money taken outside tablepay, move and merge parties: the POS and every staff member.
    TakeMoney,
}

impl Permission {
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::KeepBills | Permission::KeepTables | Permission::KeepWebhooks => &[Role::Pos, Role::Manager],
            Permission::ServeGuests => &[Role::Server, Role::Manager],
            Permission::Decide | Permission::RunVenue => &[Role::Manager],
            Permission::TakeMoney => &[Role::Pos, Role::Server, Role::Manager],
        }
    }
}

/// A venue credential that passed authentication.
#[derive(Debug, Clone)]
pub struct VenueCaller {
    pub key_id: String,
    pub venue_id: VenueId,
    pub role: Role,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub key_name: String,
}

impl VenueCaller {
    /// 404 for anything of another venue: a credential never learns what exists elsewhere.
    pub fn require_venue(&self, venue_id: impl AsRef<str>, what: &'static str) -> AppResult<()> {
        if self.venue_id == venue_id.as_ref() { Ok(()) } else { Err(AppError::NotFound(what)) }
    }

    /// 403 unless the caller's role may do `what`.
    pub fn require(&self, what: Permission) -> AppResult<()> {
        let allowed = what.roles();
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
            Err(AppError::forbidden(format!(
                "a {} credential may not do this; it needs one of: {}",
                self.role.as_str(),
                names.join(", ")
            )))
        }
    }

    /// 404 for another venue's `venue_id`, then 403 unless the caller's role may do `what`.
    pub fn require_in(&self, venue_id: impl AsRef<str>, what: Permission) -> AppResult<()> {
        self.require_venue(venue_id, "venue")?;
        self.require(what)
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

/// The venue credential whose secret is `key`, if it exists and is not revoked. Keys are
/// stored as digests only, so the lookup is by the digest of what was presented.
pub async fn authenticate(store: &Store, key: &str) -> AppResult<Option<VenueCaller>> {
    let hash = digest(key);
    let found = store.run(move |conn| -> AppResult<_> { Ok(tablepay_store::staff::active_key(conn, &hash)?) }).await?;
    let Some((key, staff_name)) = found else { return Ok(None) };
    let venue_id = VenueId::parse(&key.venue_id).map_err(|e| AppError::internal(format!("stored key: {e}")))?;
    Ok(Some(VenueCaller {
        key_id: key.id,
        venue_id,
        role: key.role,
        staff_id: key.staff_id,
        staff_name,
        key_name: key.name,
    }))
}
