//! A short memory of the keys and tenants the store returned, so that an authenticated read costs
//! one store round trip (its own query) instead of two or three.
//!
//! An entry lives `ttl` (monotonic time), then the store is asked again: a key revoked or changed in
//! the store (by `ixgw key revoke`, by another replica) stops or changes working within `ttl`, and so
//! does a tenant's change. Only what the store knows is remembered, so presenting random keys or
//! tenant names cannot grow the memory; the number of entries is capped all the same.

use crate::tenancy::{KeyDigest, StoredKey, Tenant};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries beyond this many are dropped (expired first, then all) before a new one is kept.
pub const MAX_ENTRIES: usize = 10_000;

/// Keys by digest.
pub type KeyCache = TtlCache<[u8; 32], StoredKey>;
/// Tenants by the account id or name they were asked for (Context Services' `ContactCenterId`).
pub type TenantCache = TtlCache<String, Tenant>;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl KeyCache {
    /// The key stored under `digest`, if it was fetched less than `ttl` ago.
    pub fn key(&self, digest: &KeyDigest) -> Option<StoredKey> {
        self.get(&digest.0)
    }

    /// Remembers a key the store just returned.
    pub fn put_key(&self, key: &StoredKey) {
        self.put(key.digest.0, key.clone())
    }
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// `ttl` zero: nothing is remembered, every check asks the store.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value stored under `key`, if it was fetched less than `ttl` ago.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, value)| value.clone())
    }

    /// Remembers a value the store just returned.
    pub fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::Scope;

    fn key(text: &str) -> StoredKey {
        StoredKey {
            key_id: format!("k_{text}"),
            tenant: "12345678".into(),
            environment: "production".into(),
            scope: Scope::Read,
            digest: KeyDigest::of(text),
            revoked: false,
            tenant_default_environment: "production".into(),
        }
    }

    #[test]
    fn a_key_is_remembered_for_the_ttl_only() {
        let cache = KeyCache::new(Duration::from_millis(50));
        let k = key("a");
        assert_eq!(cache.key(&k.digest), None);
        cache.put_key(&k);
        assert_eq!(cache.key(&k.digest), Some(k.clone()));
        assert_eq!(cache.key(&KeyDigest::of("b")), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.key(&k.digest), None, "expired");
    }

    #[test]
    fn tenants_are_remembered_by_the_name_asked_for() {
        let cache = TenantCache::new(Duration::from_millis(50));
        let tenant = Tenant { account_id: "12345678".into(), name: "Demo".into(), environments: Vec::new() };
        cache.put("Demo".to_string(), tenant.clone());
        assert_eq!(cache.get("Demo"), Some(tenant));
        assert_eq!(cache.get("12345678"), None, "only what was asked for");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("Demo"), None, "expired");
    }

    #[test]
    fn zero_ttl_remembers_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        let k = key("a");
        cache.put_key(&k);
        assert_eq!(cache.key(&k.digest), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_number_of_entries_is_capped() {
        let cache = KeyCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            cache.put_key(&key(&i.to_string()));
        }
        assert!(cache.len() <= MAX_ENTRIES);
        let last = key(&(MAX_ENTRIES + 4).to_string());
        assert_eq!(cache.key(&last.digest), Some(last));
    }
}
