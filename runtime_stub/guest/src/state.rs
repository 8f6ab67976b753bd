//! Guest-resident state support (docs/state-design.md): the current record's key and window, and
//! one change-record buffer per state that the host commits to `<service>.<state>.changelog`.
//!
//! The generated crate owns the states themselves (`keyed::Keyed<V>`, V being the pipeline's
//! type); this module owns what the host reads: a table of (ptr, len, count) per state whose
//! address `sscc_state_table()` returns. The table is published at the end of a call only
//! (`end_call`): a trapped call reports no changes, and the host re-runs its completed records.

/// At most this many states per service (a compile-time check in the generator keeps to it).
pub const MAX_STATES: usize = 16;
const NO_KEY: u32 = u32::MAX;

static mut CHANGES: Vec<Vec<u8>> = Vec::new();
static mut COUNTS: [u32; MAX_STATES] = [0; MAX_STATES];
/// (ptr, len, count) per state; read by the host.
static mut TABLE: [u32; 3 * MAX_STATES] = [0; 3 * MAX_STATES];
static mut KEY: String = String::new();
/// The previous key's buffer, reused by `spare_key`.
static mut SPARE: String = String::new();
/// FastHasher's state after hashing KEY's bytes (keyed.rs): the key is looked up once per window
/// and state of a record, hashed once.
static mut KEY_HASH: Option<u64> = None;

/// Whether `bytes` are the current key's own buffer (not merely equal text).
#[inline]
fn is_key(bytes: &[u8]) -> bool {
    unsafe { bytes.as_ptr() == KEY.as_ptr() && bytes.len() == KEY.len() }
}

/// The cached hash state of `bytes` when they are the current key itself.
#[inline]
pub fn key_hash(bytes: &[u8]) -> Option<u64> {
    if is_key(bytes) {
        unsafe { KEY_HASH }
    } else {
        None
    }
}

/// Remembers the hash state of the current key's bytes (`bytes` is checked to be the key).
#[inline]
pub fn remember_key_hash(bytes: &[u8], h: u64) {
    if is_key(bytes) {
        unsafe { KEY_HASH = Some(h) };
    }
}
static mut HAS_KEY: bool = false;
/// The window the current record's state belongs to: `(start, end)`; the global window outside
/// windowed services (docs/state-design.md §4).
pub const GLOBAL: (i64, i64) = (i64::MIN, i64::MAX);
static mut WINDOW: (i64, i64) = GLOBAL;
/// The host's wall clock (ms) for the current batch: `_updated_at` and `ttl` of arrow-row states.
static mut NOW: i64 = 0;

/// Sets the batch's wall-clock time (the host calls `sscc_set_now` before each batch).
pub fn set_now(now: i64) {
    unsafe { NOW = now };
}

/// The batch's wall-clock time in ms.
pub fn now() -> i64 {
    unsafe { NOW }
}
/// States 0..USED have been written to (so publishing costs nothing in a stateless stage).
static mut USED: usize = 0;
/// Counts stage calls: a state queues a key's change once per call (`keyed::Slot`).
static mut CALL: u32 = 0;
/// Bumped whenever the current key or window changes (it invalidates cached slots).
static mut KEY_EPOCH: u64 = 0;
/// Run at the end of every call: each state that was used writes its change records.
static mut CALL_END: Vec<fn()> = Vec::new();

/// The number of the current call (never 0, the mark of a value loaded from the changelog).
pub fn call_number() -> u32 {
    unsafe { CALL }
}

/// Changes whenever the current key or window does.
pub fn key_epoch() -> u64 {
    unsafe { KEY_EPOCH }
}

/// Registers `hook` to run at the end of every call (a state's `write_changes`).
pub fn on_call_end(hook: fn()) {
    unsafe { CALL_END.push(hook) };
}

/// The end of a call: every state writes its change records, then the host may read them.
pub fn end_call() {
    let hooks = unsafe { &CALL_END };
    for hook in hooks.iter() {
        hook();
    }
    publish_marks();
}

#[doc(hidden)]
pub fn table_address() -> u32 {
    unsafe { std::ptr::addr_of!(TABLE) as u32 }
}

fn buffers() -> &'static mut Vec<Vec<u8>> {
    let changes = unsafe { &mut CHANGES };
    if changes.is_empty() {
        changes.resize_with(MAX_STATES, Vec::new);
    }
    changes
}

/// Drops the change records of the previous call: the host has committed or discarded them.
pub fn begin_batch() {
    unsafe {
        CALL = CALL.wrapping_add(1).max(1);
    }
    let used = unsafe { USED };
    for (i, buf) in buffers().iter_mut().enumerate().take(used) {
        buf.clear();
        unsafe { COUNTS[i] = 0 };
    }
    publish_marks();
}

/// Makes the change records visible to the host (at the start and the end of a call).
pub fn publish_marks() {
    let used = unsafe { USED };
    if used == 0 {
        return;
    }
    let changes = buffers();
    for i in 0..used {
        let buf = &changes[i];
        unsafe {
            let t = std::ptr::addr_of_mut!(TABLE) as *mut u32;
            std::ptr::write_volatile(t.add(3 * i), buf.as_ptr() as u32);
            std::ptr::write_volatile(t.add(3 * i + 1), buf.len() as u32);
            std::ptr::write_volatile(t.add(3 * i + 2), COUNTS[i]);
        }
    }
}

/// Sets the key `update-state` runs for (the glue calls it with assign-key's result).
pub fn set_key(key: String) {
    unsafe {
        KEY = key;
        KEY_HASH = None;
        HAS_KEY = true;
        KEY_EPOCH += 1;
    }
}

/// `set_key` for a text key, reusing the key buffer (no allocation per record once warm).
pub fn set_key_str(key: &str) {
    unsafe {
        KEY.clear();
        KEY.push_str(key);
        KEY_HASH = None;
        HAS_KEY = true;
        KEY_EPOCH += 1;
    }
}

/// A String holding `text`, built in the buffer of the key before last (`set_key_owned` keeps
/// it): an assign-key's argument costs a copy, not an allocation per record.
pub fn spare_key(text: &str) -> String {
    let mut s = unsafe { std::mem::take(&mut SPARE) };
    s.clear();
    s.push_str(text);
    s
}

/// `set_key_str` for a key the glue owns and no longer needs: it becomes the key without a copy
/// (None is the empty key, as in `set_key_str`), and the previous key's buffer is kept spare.
pub fn set_key_owned(key: Option<String>) {
    match key {
        Some(k) => unsafe {
            SPARE = std::mem::replace(&mut KEY, k);
            KEY_HASH = None;
            HAS_KEY = true;
            KEY_EPOCH += 1;
        },
        None => set_key_str(""),
    }
}

/// No current key (a record before its partition's assign-key, a flush): `key()` is `None`.
pub fn clear_key() {
    unsafe {
        HAS_KEY = false;
        KEY_EPOCH += 1;
    }
}

/// The current key's text, borrowed; valid until the next `set_key`.
pub fn key_ref() -> &'static str {
    unsafe { KEY.as_str() }
}

/// The current key's text, if there is one.
pub fn current_key() -> Option<&'static str> {
    unsafe {
        if HAS_KEY {
            Some(KEY.as_str())
        } else {
            None
        }
    }
}

/// Sets the window the state accessors and change records refer to (the glue of a windowed
/// partition or flush calls it; everything else stays in the global window).
pub fn set_window(window: (i64, i64)) {
    unsafe {
        WINDOW = window;
        KEY_EPOCH += 1;
    }
}

/// `window()` in SDF code: the current window's `(start, end)` in ms.
pub fn window() -> (i64, i64) {
    unsafe { WINDOW }
}

/// The current record's key as canonical text (`key()` in SDF code, and the state map key).
pub fn key() -> String {
    unsafe { KEY.clone() }
}

/// Appends one change record of `window` to state `state`'s buffer: op `U` + payload (upsert) or
/// `D` (delete) for `key`, or `C` (clear the whole window) with no key.
fn log_with<F: FnOnce(&mut Vec<u8>)>(state: usize, window: (i64, i64), key: Option<&str>, op: u8, payload: F) {
    let buf = &mut buffers()[state];
    let key_bytes = key.map(str::as_bytes).unwrap_or(b"");
    let at = buf.len();
    buf.extend_from_slice(&0u32.to_le_bytes()); // the frame length, patched below
    buf.extend_from_slice(&window.0.to_le_bytes());
    buf.extend_from_slice(&window.1.to_le_bytes());
    let key_len = if key.is_some() { key_bytes.len() as u32 } else { NO_KEY };
    buf.extend_from_slice(&key_len.to_le_bytes());
    buf.extend_from_slice(key_bytes);
    buf.push(op);
    payload(buf);
    let frame_len = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&frame_len.to_le_bytes());
    unsafe {
        COUNTS[state] += 1;
        if USED <= state {
            USED = state + 1;
        }
    }
}

/// Records that `key` of `window` now holds the value `payload` writes (as JSON).
pub fn log_upsert_with<F: FnOnce(&mut Vec<u8>)>(state: usize, window: (i64, i64), key: &str, payload: F) {
    log_with(state, window, Some(key), b'U', payload);
}

/// Records that `key` of `window` was deleted (arrow-row `delete()`, `ttl`).
pub fn log_delete_in(state: usize, window: (i64, i64), key: &str) {
    log_with(state, window, Some(key), b'D', |_| {});
}

/// Records that `window` was dropped (after its flush).
pub fn log_clear_window(state: usize, window: (i64, i64)) {
    log_with(state, window, None, b'C', |_| {});
}

/// One change record as a replay sees it.
pub enum Change<'a> {
    Upsert { window: (i64, i64), key: &'a str, json: &'a [u8] },
    Delete { window: (i64, i64), key: &'a str },
    Clear { window: (i64, i64) },
}

/// Calls `apply` for every change record of `data[..len]` (a changelog replay); returns 0, or -1
/// on a malformed record or when `apply` says false.
pub fn for_each_change<F>(ptr: u32, len: u32, mut apply: F) -> i32
where
    F: FnMut(Change) -> bool,
{
    let data = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let long = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let mut pos = 0usize;
    while pos < data.len() {
        if pos + 24 > data.len() {
            return -1;
        }
        let frame_len = word(pos) as usize;
        let window = (long(pos + 4), long(pos + 12));
        let key_len = word(pos + 20);
        let end = pos + 4 + frame_len;
        let key_end = if key_len == NO_KEY { pos + 24 } else { pos + 24 + key_len as usize };
        if end > data.len() || key_end >= end {
            return -1;
        }
        let key = match std::str::from_utf8(&data[pos + 24..key_end]) {
            Ok(k) => k,
            Err(_) => return -1,
        };
        let value = &data[key_end..end];
        let change = match (value[0], key_len == NO_KEY) {
            (b'U', false) => Change::Upsert { window, key, json: &value[1..] },
            (b'D', false) => Change::Delete { window, key },
            (b'C', true) => Change::Clear { window },
            _ => return -1,
        };
        if !apply(change) {
            return -1;
        }
        pos = end;
    }
    0
}

/// The canonical text of a key (semantics.md, "State key types"): a string as itself, anything
/// else as its JSON text, no key as the empty string.
#[cfg(feature = "json")]
pub fn key_text<K: serde::Serialize>(key: &Option<K>) -> String {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    }
}

/// What `s().clone()` of a value state returns (a flush reads it): every key of the current window
/// with its value, in key order. Consuming it iterates `(key, value)` pairs (SDF 0.5:
/// `cc.into_iter().map(|(k, v)| ...)`); `iter()` and the Vec-like methods see entries with
/// `.key` / `.value` (earlier SDF: `t.sort_by(|a, b| a.value.cmp(&b.value)); t.truncate(3)`);
/// `get`, `keys`, `values` as on a map.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table<V> {
    entries: Vec<Entry<V>>,
}

/// One key of a [`Table`].
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<V> {
    pub key: String,
    pub value: V,
}

impl<V> Table<V> {
    /// From (key, value) pairs in key order.
    pub fn from_pairs(pairs: Vec<(String, V)>) -> Self {
        Table { entries: pairs.into_iter().map(|(key, value)| Entry { key, value }).collect() }
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Entry<V>> {
        self.entries.iter()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|e| &e.key)
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|e| &e.value)
    }
    pub fn sort_by<F: FnMut(&Entry<V>, &Entry<V>) -> std::cmp::Ordering>(&mut self, compare: F) {
        self.entries.sort_by(compare)
    }
    pub fn reverse(&mut self) {
        self.entries.reverse()
    }
    pub fn truncate(&mut self, len: usize) {
        self.entries.truncate(len)
    }
    pub fn first(&self) -> Option<&Entry<V>> {
        self.entries.first()
    }
    pub fn last(&self) -> Option<&Entry<V>> {
        self.entries.last()
    }
}

impl<V> IntoIterator for Table<V> {
    type Item = (String, V);
    type IntoIter = std::iter::Map<std::vec::IntoIter<Entry<V>>, fn(Entry<V>) -> (String, V)>;
    fn into_iter(self) -> Self::IntoIter {
        fn pair<V>(e: Entry<V>) -> (String, V) {
            (e.key, e.value)
        }
        self.entries.into_iter().map(pair as fn(Entry<V>) -> (String, V))
    }
}

impl<'a, V> IntoIterator for &'a Table<V> {
    type Item = &'a Entry<V>;
    type IntoIter = std::slice::Iter<'a, Entry<V>>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
