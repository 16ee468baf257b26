//! Tenants, environments and application keys.
//!
//! A key is shown once when created and stored only as its SHA-256 digest. Presented keys are looked
//! up by digest and the digests are compared in constant time, so neither timing nor the answer says
//! anything about other keys or other tenants.

use crate::error::AuthFailure;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The environment every tenant has unless told otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "production";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The account id (Interact `accountID`, Context Services `ContactCenterId`).
    pub account_id: String,
    pub name: String,
    pub environments: Vec<Environment>,
}

impl Tenant {
    pub fn default_environment(&self) -> Option<&str> {
        self.environments.iter().find(|e| e.is_default).map(|e| e.name.as_str())
    }

    /// The caller a surface opened to trusted networks lets in without a key (Context Services
    /// `open_access`): read-only, in the environment asked for (it must be the tenant's), else the
    /// tenant's default.
    pub fn open_principal(&self, environment: Option<&str>) -> Result<Principal, AuthFailure> {
        let wanted = environment.filter(|e| !e.is_empty());
        let environment = match wanted {
            Some(e) => self.environments.iter().find(|env| env.name == e).map(|env| env.name.as_str()),
            None => self.default_environment(),
        }
        .ok_or(AuthFailure::UnknownEnvironment)?;
        Ok(Principal {
            tenant: self.account_id.as_str().into(),
            environment: environment.into(),
            scope: Scope::Read,
            key_id: OPEN_ACCESS_KEY_ID.into(),
        })
    }
}

/// The `key_id` of a principal let in without a key (see [`Tenant::open_principal`]).
pub const OPEN_ACCESS_KEY_ID: &str = "open-access";

/// What a key may do. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Ingest,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Ingest => "ingest",
            Self::Admin => "admin",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "ingest" => Some(Self::Ingest),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    pub fn permits(self, needed: Scope) -> bool {
        self == Scope::Admin || self == needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SHA-256 of a key's text. Its `Debug` hides the bytes so that it cannot reach a log by accident.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyDigest(pub [u8; 32]);

impl KeyDigest {
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
    /// Constant-time equality.
    pub fn matches(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

/// A key as the store keeps it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key_id: Arc<str>,
    pub tenant: Arc<str>,
    pub environment: Arc<str>,
    pub scope: Scope,
    pub digest: KeyDigest,
    pub revoked: bool,
    /// The key's tenant's default environment (for requests that name none).
    pub tenant_default_environment: String,
}

/// A key's public facts, for `ixgw key list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub key_id: String,
    pub tenant: String,
    pub environment: String,
    pub scope: Scope,
    pub created_at: crate::model::time::Millis,
    pub revoked: bool,
}

/// A freshly made key: the text to show once, and what to store.
pub struct NewKey {
    pub key: String,
    pub key_id: String,
    pub digest: KeyDigest,
}

impl NewKey {
    /// 32 random bytes as hex, prefixed so that a leaked key is recognisable in a scan.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_text(format!("ixgw_{}", hex::encode(bytes)))
    }

    /// A key with a chosen text (the demo's `demo-application-key`, imports of existing keys).
    pub fn from_text(key: String) -> Self {
        let digest = KeyDigest::of(&key);
        // The id is derived from the digest, not the key: listing ids reveals nothing usable.
        let key_id = format!("k_{}", &hex::encode(digest.0)[..12]);
        Self { key, key_id, digest }
    }
}

/// Who is calling, once authenticated: everything a query is bound to. Its names are shared with
/// the remembered key they come from (made on every request: a copy would be three allocations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: Arc<str>,
    pub environment: Arc<str>,
    pub scope: Scope,
    pub key_id: Arc<str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(Scope::Admin.permits(Scope::Read) && Scope::Admin.permits(Scope::Ingest));
        assert!(Scope::Read.permits(Scope::Read) && !Scope::Read.permits(Scope::Ingest));
        assert!(!Scope::Ingest.permits(Scope::Read));
        assert_eq!(Scope::parse("ingest"), Some(Scope::Ingest));
        assert_eq!(Scope::parse("root"), None);
    }

    #[test]
    fn open_principal_reads_in_the_asked_or_default_environment() {
        let env = |name: &str, is_default| Environment { name: name.into(), is_default };
        let tenant = Tenant {
            account_id: "12345678".into(),
            name: "Demo".into(),
            environments: vec![env("production", true), env("staging", false)],
        };
        let default = tenant.open_principal(None).unwrap();
        assert_eq!((&*default.tenant, &*default.environment), ("12345678", "production"));
        assert_eq!((default.scope, &*default.key_id), (Scope::Read, OPEN_ACCESS_KEY_ID));
        assert_eq!(&*tenant.open_principal(Some("")).unwrap().environment, "production");
        assert_eq!(&*tenant.open_principal(Some("staging")).unwrap().environment, "staging");
        assert_eq!(tenant.open_principal(Some("qa")), Err(AuthFailure::UnknownEnvironment));
        let bare = Tenant { environments: vec![], ..tenant };
        assert_eq!(bare.open_principal(None), Err(AuthFailure::UnknownEnvironment));
    }

    #[test]
    fn keys_are_random_and_only_their_digest_matches() {
        let a = NewKey::generate();
        let b = NewKey::generate();
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("ixgw_") && a.key.len() == 69);
        assert!(KeyDigest::of(&a.key).matches(&a.digest));
        assert!(!KeyDigest::of(&b.key).matches(&a.digest));
        assert!(!format!("{:?}", a.digest).contains(&hex::encode(a.digest.0)));
        assert_eq!(
            NewKey::from_text("demo-application-key".into()).key_id,
            NewKey::from_text("demo-application-key".into()).key_id
        );
    }
}
