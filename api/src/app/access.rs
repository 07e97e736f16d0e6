//! Who acts: a venue credential resolved from its bearer key, and the two questions every use
//! case asks of it (is this thing of the caller's venue; may this role do this).

pub use tablepay_domain::Role;
use tablepay_store::Store;

use crate::app::{AppError, AppResult};
use crate::secrets::digest;

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
    pub fn require_venue(&self, venue_id: &str, what: &'static str) -> AppResult<()> {
        if self.venue_id == venue_id { Ok(()) } else { Err(AppError::NotFound(what)) }
    }

    pub fn require_role(&self, allowed: &[Role]) -> AppResult<()> {
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
    let role = Role::parse(&key.role).ok_or_else(|| AppError::internal(format!("bad role {}", key.role)))?;
    Ok(Some(VenueCaller {
        key_id: key.id,
        venue_id: key.venue_id,
        role,
        staff_id: key.staff_id,
        staff_name,
        key_name: key.name,
    }))
}
