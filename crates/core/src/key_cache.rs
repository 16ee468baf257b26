//! A short memory of the keys the store returned, so that an authenticated read costs one store
//! round trip instead of two.
//!
//! An entry lives `ttl` (monotonic time), then the store is asked again: a key revoked or changed in
//! the store (by `ixgw key revoke`, by another replica) stops or changes working within `ttl`. Only
//! keys the store knows are remembered, so presenting random keys cannot grow the memory; the number
//! of entries is capped all the same.

use crate::tenancy::{KeyDigest, StoredKey};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries beyond this many are dropped (expired first, then all) before a new one is kept.
pub const MAX_ENTRIES: usize = 10_000;

pub struct KeyCache {
    ttl: Duration,
    entries: RwLock<HashMap<[u8; 32], (Instant, StoredKey)>>,
}

impl KeyCache {
    /// `ttl` zero: nothing is remembered, every check asks the store.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The key stored under `digest`, if it was fetched less than `ttl` ago.
    pub fn get(&self, digest: &KeyDigest) -> Option<StoredKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(&digest.0).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, key)| key.clone())
    }

    /// Remembers a key the store just returned.
    pub fn put(&self, key: &StoredKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key.digest.0) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key.digest.0, (Instant::now(), key.clone()));
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
        assert_eq!(cache.get(&k.digest), None);
        cache.put(&k);
        assert_eq!(cache.get(&k.digest), Some(k.clone()));
        assert_eq!(cache.get(&KeyDigest::of("b")), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&k.digest), None, "expired");
    }

    #[test]
    fn zero_ttl_remembers_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        let k = key("a");
        cache.put(&k);
        assert_eq!(cache.get(&k.digest), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_number_of_entries_is_capped() {
        let cache = KeyCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            cache.put(&key(&i.to_string()));
        }
        assert!(cache.len() <= MAX_ENTRIES);
        let last = key(&(MAX_ENTRIES + 4).to_string());
        assert_eq!(cache.get(&last.digest), Some(last));
    }
}
