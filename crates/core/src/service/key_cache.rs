//! A short memory of the keys and tenants the store returned, so that an authenticated read costs
//! one store round trip (its own query) instead of two or three.
//!
//! An entry lives `ttl` (monotonic time), then the store is asked again: a key revoked or changed in
//! the store (by `ixgw key revoke`, by another replica) stops or changes working within `ttl`, and so
//! does a tenant's change. Only what the store knows is remembered, so presenting random keys or
//! tenant names cannot grow the memory; the number of entries is capped all the same.
//!
//! Keys are remembered by a keyed tag of the key as presented (SipHash-2-4 with 128-bit output and a
//! random key drawn at start-up), not by the store's SHA-256 digest: a remembered key is then
//! recognised without hashing it with SHA-256 on every request (≈ 9 000 instructions, 7 % of a REST
//! flow). Nobody outside the process can compute a tag, so finding another key with a remembered
//! key's tag is a guess at 128 random bits; the digest is still what the store is asked by, and
//! compared in constant time, before anything is remembered.

use crate::model::tenancy::{StoredKey, Tenant};
use siphasher::sip128::SipHasher24;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Entries beyond this many are dropped (expired first, then all) before a new one is kept.
pub const MAX_ENTRIES: usize = 10_000;

/// Tenants by the account id or name they were asked for (Context Services' `ContactCenterId`).
pub type TenantCache = TtlCache<String, Arc<Tenant>>;

pub struct TtlCache<K, V, S = RandomState> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V), S>>,
}

/// The keyed tag of a presented key (see the module's notes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyTag(u128);

/// A tag is already a keyed hash nobody outside the process can steer: its own bits place it in
/// the table, rather than hashing it once more (SipHash again, on every request).
impl Hash for KeyTag {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0 as u64 ^ (self.0 >> 64) as u64)
    }
}

/// The hasher of [`KeyTag`]s: the `u64` the tag writes, as it is.
#[derive(Default)]
struct TagHasher(u64);

impl Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `KeyTag`; any other input is folded in all the same.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Keys by the tag of the key as presented.
pub struct KeyCache {
    tagger: SipHasher24,
    entries: TtlCache<KeyTag, Arc<StoredKey>, BuildHasherDefault<TagHasher>>,
}

impl KeyCache {
    /// `ttl` zero: nothing is remembered, every check asks the store.
    pub fn new(ttl: Duration) -> Self {
        Self { tagger: SipHasher24::new_with_keys(rand::random(), rand::random()), entries: TtlCache::new(ttl) }
    }

    /// The tag `key` is remembered by.
    pub fn tag(&self, key: &str) -> KeyTag {
        KeyTag(self.tagger.hash(key.as_bytes()).as_u128())
    }

    /// The key presented with `tag`, if the store returned it less than `ttl` ago (shared, not
    /// copied: a remembered key is read on every request).
    pub fn key(&self, tag: KeyTag) -> Option<Arc<StoredKey>> {
        self.entries.get(&tag)
    }

    /// Remembers a key the store just returned for a presented key whose digest it matched.
    pub fn put_key(&self, tag: KeyTag, key: &Arc<StoredKey>) {
        self.entries.put(tag, key.clone())
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher + Default> TtlCache<K, V, S> {
    /// `ttl` zero: nothing is remembered, every check asks the store.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::default()) }
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
    use crate::model::tenancy::{KeyDigest, Scope};

    fn key(text: &str) -> StoredKey {
        StoredKey {
            key_id: format!("k_{text}").into(),
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
        assert_eq!(cache.key(cache.tag("a")), None);
        cache.put_key(cache.tag("a"), &Arc::new(k.clone()));
        assert_eq!(cache.key(cache.tag("a")).as_deref(), Some(&k));
        assert_eq!(cache.key(cache.tag("b")), None);
        assert_eq!(cache.key(cache.tag("a ")), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.key(cache.tag("a")), None, "expired");
    }

    #[test]
    fn tenants_are_remembered_by_the_name_asked_for() {
        let cache = TenantCache::new(Duration::from_millis(50));
        let tenant = Tenant { account_id: "12345678".into(), name: "Demo".into(), environments: Vec::new() };
        cache.put("Demo".to_string(), Arc::new(tenant.clone()));
        assert_eq!(cache.get("Demo").as_deref(), Some(&tenant));
        assert_eq!(cache.get("12345678"), None, "only what was asked for");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("Demo"), None, "expired");
    }

    #[test]
    fn zero_ttl_remembers_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        cache.put_key(cache.tag("a"), &Arc::new(key("a")));
        assert_eq!(cache.key(cache.tag("a")), None);
        assert_eq!(cache.entries.len(), 0);
    }

    #[test]
    fn the_number_of_entries_is_capped() {
        let cache = KeyCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            cache.put_key(cache.tag(&i.to_string()), &Arc::new(key(&i.to_string())));
        }
        assert!(cache.entries.len() <= MAX_ENTRIES);
        let last = (MAX_ENTRIES + 4).to_string();
        assert_eq!(cache.key(cache.tag(&last)).as_deref(), Some(&key(&last)));
    }
}
