//! One keyed state resident in the instance (docs/state-design.md §2): window -> key text -> value.
//!
//! What makes a state update cheap enough to run per word of a word count:
//! - a fast hasher (`FastHasher`) instead of SipHash: keys are the pipeline's own data, and a
//!   guest instance is not exposed to hash flooding from outside its input;
//! - the maps of the last windows used are cached, and so is the current key's slot, so the usual
//!   `let mut s = st(); s.count += 1; s.update()?` looks the key up once;
//! - a change record is written once per changed key and call, at the end of the call
//!   (`write_changes`), not once per update. A key changed 40 times in a batch costs one JSON
//!   serialization. The host therefore sees a call's change records only when the call completes;
//!   after a trap it re-runs the completed records on a fresh instance (wasm_host.py `_isolate`).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::state;

/// A multiply-rotate hash over 8-byte words with a final fold, so that the low 32 bits hashbrown
/// uses on wasm32 (bucket index and tag) depend on every input byte.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl FastHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    /// A record's key is looked up once per state and window (six times per state for a 60 s/10 s
    /// sliding window), so the hash of the current key's own bytes is remembered until the key
    /// changes (state.rs `key_hash`); any other bytes are hashed as they come.
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let fresh = self.0 == 0;
        if fresh {
            if let Some(h) = state::key_hash(bytes) {
                self.0 = h;
                return;
            }
        }
        self.write_bytes(bytes);
        if fresh {
            state::remember_key_hash(bytes, self.0);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i)
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        // One more multiply, then the high half (which depends on every input bit) folded into
        // the low half that hashbrown uses on wasm32.
        let h = self.0.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 32)
    }
}

impl FastHasher {
    #[inline(always)]
    fn write_bytes(&mut self, bytes: &[u8]) {
        // Whole words, then the tail read as 4 + 2 + 1 bytes (no memcpy call: keys are short).
        let n = bytes.len();
        let mut i = 0;
        while i + 8 <= n {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            self.mix(u64::from_le_bytes(w));
            i += 8;
        }
        if i < n {
            let (mut word, mut shift) = (0u64, 0u32);
            if n - i >= 4 {
                word = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as u64;
                i += 4;
                shift = 32;
            }
            if n - i >= 2 {
                word |= (u16::from_le_bytes([bytes[i], bytes[i + 1]]) as u64) << shift;
                i += 2;
                shift += 16;
            }
            if n - i >= 1 {
                word |= (bytes[i] as u64) << shift;
            }
            self.mix(word ^ ((n as u64 & 7) << 59));
        }
    }
}

/// A HashMap with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A value and the call in which its change was last queued for `write_changes`.
pub struct Slot<V> {
    pub value: V,
    queued: u32,
}

/// A row's key text in the map. Its equality compares in words inline: `String`'s calls the
/// module's `memcmp`, a byte loop, once per lookup (~5 % of a word count's whole run).
#[derive(Clone, Debug)]
pub struct Key(pub String);

/// `str` with `Key`'s equality and the same hash, so a `&str` looks a `Key` up (`Borrow`).
#[repr(transparent)]
pub struct KeyStr(str);

impl KeyStr {
    #[inline]
    pub fn new(s: &str) -> &KeyStr {
        // SAFETY: KeyStr is a transparent wrapper of str.
        unsafe { &*(s as *const str as *const KeyStr) }
    }
}

impl Borrow<KeyStr> for Key {
    #[inline]
    fn borrow(&self) -> &KeyStr {
        KeyStr::new(&self.0)
    }
}

impl Hash for KeyStr {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.as_str().hash(h)
    }
}

impl PartialEq for KeyStr {
    #[inline]
    fn eq(&self, other: &KeyStr) -> bool {
        same_bytes(self.0.as_bytes(), other.0.as_bytes())
    }
}
impl Eq for KeyStr {}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        same_bytes(self.0.as_bytes(), other.0.as_bytes())
    }
}
impl Eq for Key {}

/// `a == b` without a `memcmp` call: whole words, then the tail as one word (as `write_bytes`).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let mut i = 0;
    while i + 8 <= n {
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        if x != y {
            return false;
        }
        i += 8;
    }
    tail_word(a, i) == tail_word(b, i)
}

/// The bytes of `bytes[i..]` (fewer than 8) as one little-endian word, read as 4 + 2 + 1 bytes.
#[inline(always)]
fn tail_word(bytes: &[u8], i: usize) -> u64 {
    let n = bytes.len();
    debug_assert!(i <= n && n - i < 8);
    let p = bytes.as_ptr();
    // SAFETY: every read is below n (checked by each branch); i <= n.
    unsafe {
        let (mut word, mut j, mut shift) = (0u64, i, 0u32);
        if n - j >= 4 {
            word = (p.add(j) as *const u32).read_unaligned() as u64;
            j += 4;
            shift = 32;
        }
        if n - j >= 2 {
            word |= ((p.add(j) as *const u16).read_unaligned() as u64) << shift;
            j += 2;
            shift += 16;
        }
        if n - j >= 1 {
            word |= (*p.add(j) as u64) << shift;
        }
        word
    }
}

type Rows<V> = FastMap<Key, Slot<V>>;
const RECENT: usize = 8;

/// One state: per window, key text -> value (the global window outside windowed services).
pub struct Keyed<V> {
    index: usize,
    windows: FastMap<(i64, i64), Box<Rows<V>>>,
    /// The maps of the windows used last (boxed, so their addresses survive a rehash of
    /// `windows`): a sliding window's record updates several windows in turn.
    recent: [((i64, i64), *mut Rows<V>); RECENT],
    next_recent: usize,
    /// The current key's slot, valid while `state::key_epoch()` and `shape` are unchanged.
    slot: (u64, u64, *mut Slot<V>),
    /// Bumped on every insert or removal: slot pointers from before may dangle.
    shape: u64,
    /// (window, key) of every key changed in this call, once each (`Slot::queued`).
    dirty: Vec<((i64, i64), String)>,
    /// Bumped on every change of any row: `sql()` re-sends a state's rows to the host only when
    /// it moved since the host last got them (sql::sync_state).
    generation: u64,
}

impl<V> Keyed<V> {
    /// State number `index` of the service (its change buffer and changelog).
    pub fn new(index: usize) -> Self {
        Keyed {
            index,
            windows: FastMap::default(),
            recent: [((0, 0), std::ptr::null_mut()); RECENT],
            next_recent: 0,
            slot: (u64::MAX, u64::MAX, std::ptr::null_mut()),
            shape: 0,
            dirty: Vec::new(),
            generation: 0,
        }
    }

    /// Changes whenever any row of any window does.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every key of window `w` with its value, in no particular order (none for an absent window).
    pub fn entries_of(&self, w: (i64, i64)) -> impl Iterator<Item = (&String, &V)> {
        self.windows.get(&w).into_iter().flat_map(|rows| rows.iter().map(|(k, s)| (&k.0, &s.value)))
    }

    /// The current window's rows (created empty on first use).
    // The lookup path (`rows`, `current_slot`, the hash) is forced inline: every call in a wasm
    // module pays a stack-limit and an epoch check on entry, and LLVM kept these out of line;
    // inlined, the word count's guest took ~10 % less time.
    #[inline(always)]
    pub fn rows(&mut self) -> &mut Rows<V> {
        let w = state::window();
        for &(window, rows) in self.recent.iter() {
            if window == w && !rows.is_null() {
                return unsafe { &mut *rows };
            }
        }
        let rows: *mut Rows<V> = &mut **self.windows.entry(w).or_default();
        self.recent[self.next_recent] = (w, rows);
        self.next_recent = (self.next_recent + 1) % RECENT;
        unsafe { &mut *rows }
    }

    /// Forgets the cached map pointers (a window was dropped).
    fn forget_recent(&mut self) {
        self.recent = [((0, 0), std::ptr::null_mut()); RECENT];
    }

    #[inline(always)]
    fn current_slot(&mut self) -> Option<&mut Slot<V>> {
        let epoch = state::key_epoch();
        if self.slot.0 == epoch && self.slot.1 == self.shape && !self.slot.2.is_null() {
            return Some(unsafe { &mut *self.slot.2 });
        }
        let found = self.rows().get_mut(KeyStr::new(state::key_ref())).map(|s| s as *mut Slot<V>);
        match found {
            Some(ptr) => {
                self.slot = (epoch, self.shape, ptr);
                Some(unsafe { &mut *ptr })
            }
            None => None,
        }
    }

    /// The current key's value in the current window.
    #[inline]
    pub fn get(&mut self) -> Option<&V> {
        self.current_slot().map(|s| &s.value)
    }

    /// Stores `value` under the current key of the current window.
    pub fn put(&mut self, value: V) {
        self.generation += 1;
        let call = state::call_number();
        let w = state::window();
        match self.current_slot() {
            Some(slot) => {
                slot.value = value;
                if slot.queued == call {
                    return;
                }
                slot.queued = call;
            }
            None => {
                let key = state::key_ref().to_string();
                self.rows().insert(Key(key), Slot { value, queued: call });
                self.shape += 1;
            }
        }
        self.dirty.push((w, state::key_ref().to_string()));
    }

    /// Removes the current key of the current window; whether it was there.
    pub fn remove(&mut self) -> bool {
        let key = state::key_ref();
        match self.rows().remove(KeyStr::new(key)) {
            Some(slot) => {
                self.shape += 1;
                self.generation += 1;
                if slot.queued != state::call_number() {
                    self.dirty.push((state::window(), key.to_string()));
                }
                true
            }
            None => false,
        }
    }

    /// Every key of the current window with its value, in no particular order.
    pub fn entries(&mut self) -> impl Iterator<Item = (&String, &V)> {
        self.rows().iter().map(|(k, s)| (&k.0, &s.value))
    }

    /// Drops window `w` (after its flush) and logs a `C` record for it; whether it existed.
    pub fn drop_window(&mut self, w: (i64, i64)) -> bool {
        self.forget_recent();
        self.shape += 1;
        self.generation += 1;
        if self.windows.remove(&w).is_none() {
            return false;
        }
        self.dirty.retain(|(dw, _)| *dw != w);
        state::log_clear_window(self.index, w);
        true
    }

    /// Removes every row, of every window, for which `expired` says true (arrow-row `ttl`).
    pub fn expire<F: Fn(&V) -> bool>(&mut self, expired: F) {
        let call = state::call_number();
        for (w, rows) in self.windows.iter_mut() {
            let keys: Vec<String> = rows.iter().filter(|(_, s)| expired(&s.value)).map(|(k, _)| k.0.clone()).collect();
            for key in keys {
                if let Some(slot) = rows.remove(KeyStr::new(&key)) {
                    if slot.queued != call {
                        self.dirty.push((*w, key));
                    }
                }
            }
        }
        self.shape += 1;
        self.generation += 1;
    }

    /// Replays one committed change record (start-up, a fresh instance after a trap).
    pub fn load<F: FnOnce(&[u8]) -> Option<V>>(&mut self, change: state::Change, decode: F) -> bool {
        self.shape += 1;
        self.generation += 1;
        match change {
            state::Change::Upsert { window, key, json } => match decode(json) {
                Some(value) => {
                    self.windows.entry(window).or_default().insert(Key(key.to_string()), Slot { value, queued: 0 });
                    true
                }
                None => false,
            },
            state::Change::Delete { window, key } => {
                if let Some(rows) = self.windows.get_mut(&window) {
                    rows.remove(KeyStr::new(key));
                }
                true
            }
            state::Change::Clear { window } => {
                self.forget_recent();
                self.windows.remove(&window);
                true
            }
        }
    }

    /// Writes one change record per key changed in this call: `U` + the value as `encode` writes
    /// it, or `D` for a key no longer there (the end of every call; see `state::end_call`).
    pub fn write_changes<F: Fn(&V, &mut Vec<u8>)>(&mut self, encode: F) {
        let dirty = std::mem::take(&mut self.dirty);
        for (w, key) in &dirty {
            match self.windows.get(w).and_then(|rows| rows.get(KeyStr::new(key))) {
                Some(slot) => state::log_upsert_with(self.index, *w, key, |buf| encode(&slot.value, buf)),
                None => state::log_delete_in(self.index, *w, key),
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
    }
}
