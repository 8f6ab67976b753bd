//! Guest side of the sscc batch ABI (docs/abi.md).
//!
//! A generated stage crate depends on this crate by path, calls `sscc_guest::abi_exports!()`
//! once, and writes one export per fused stage:
//!
//! ```ignore
//! sscc_guest::abi_exports!();
//!
//! #[no_mangle]
//! pub extern "C" fn sscc_stage_0(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {
//!     sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {
//!         sscc_guest::enter("parse");
//!         let order: Order = sscc_guest::json::decode(rec.value)?;
//!         sscc_guest::enter("double");
//!         let doubled = double(order).map_err(sscc_guest::Failure::operator)?;
//!         out.emit_json(rec.key, &doubled, rec.timestamp)
//!     })
//! }
//! ```
//!
//! Everything the host needs to isolate a trapping record lives in one `Control` block whose
//! address `sscc_control()` returns: the record in progress, the output committed so far, the
//! operator running and the panic message. wasm32 has no unwinding, so a panic
//! aborts the call; the host reads this block, dead-letters that one record, keeps the output
//! of the records before it, and re-runs the rest of the batch on a fresh instance.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Display;

#[cfg(feature = "json")]
pub mod json;
pub mod keyed;
pub mod raw;
#[cfg(feature = "json")]
pub mod sql;
pub mod state;
pub mod window;

/// Bumped on any incompatible change of frames, control block, exports or error entries.
pub const ABI_VERSION: u32 = 3;
/// `Control::cur_index` when no record is being processed.
pub const NO_RECORD: u32 = u32::MAX;
const NO_KEY: u32 = u32::MAX;
const FRAME_HEADER: usize = 24;

/// Shared with the host; field offsets are part of the ABI (docs/abi.md, "Control block").
#[repr(C)]
pub struct Control {
    pub abi_version: u32,
    pub in_ptr: u32,
    pub in_cap: u32,
    pub out_ptr: u32,
    pub out_len: u32,
    pub err_ptr: u32,
    pub err_len: u32,
    pub cur_index: u32,
    pub cur_pos: u32,
    pub op_ptr: u32,
    pub op_len: u32,
    pub panic_ptr: u32,
    pub panic_len: u32,
    pub out_count: u32,
    pub cur_origin: i64,
}

static mut CONTROL: Control = Control {
    abi_version: ABI_VERSION,
    in_ptr: 0,
    in_cap: 0,
    out_ptr: 0,
    out_len: 0,
    err_ptr: 0,
    err_len: 0,
    cur_index: NO_RECORD,
    cur_pos: 0,
    op_ptr: 0,
    op_len: 0,
    panic_ptr: 0,
    panic_len: 0,
    out_count: 0,
    cur_origin: -1,
};

/// Every store into CONTROL is volatile: the host reads it after a trap, which the optimizer
/// cannot see, so plain stores before an abort or an endless loop could be dropped or delayed.
macro_rules! publish {
    ($($field:ident = $value:expr),+ $(,)?) => {
        unsafe { $(std::ptr::write_volatile(std::ptr::addr_of_mut!(CONTROL.$field), $value);)+ }
    };
}

static mut INPUT: Vec<u8> = Vec::new();
static mut OUTPUT: Vec<u8> = Vec::new();
static mut ERRORS: Vec<u8> = Vec::new();
static mut HOOKED: bool = false;

/// Defines the ABI's fixed exports in the calling crate (exports of a dependency are not
/// reliably kept by the linker, so they are expanded where the cdylib is built).
#[macro_export]
macro_rules! abi_exports {
    () => {
        #[no_mangle]
        pub extern "C" fn sscc_abi_version() -> u32 {
            $crate::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn sscc_control() -> u32 {
            $crate::control_address()
        }
        #[no_mangle]
        pub extern "C" fn sscc_reserve(len: u32) -> u32 {
            $crate::reserve(len)
        }
        /// Groups a batch's frames by repartition partition (docs/scale-out.md).
        #[no_mangle]
        pub extern "C" fn sscc_route(in_ptr: u32, in_len: u32, parts: i64) -> i32 {
            $crate::route(in_ptr, in_len, parts)
        }
        #[no_mangle]
        pub extern "C" fn sscc_state_table() -> u32 {
            $crate::state::table_address()
        }
        /// wasm32-wasi: makes the module a reactor. The host calls it once after instantiating;
        /// without it the linker wraps every export in the constructors (wasi-libc's environ
        /// set-up among them), which would then run again on every stage call.
        #[cfg(target_os = "wasi")]
        #[no_mangle]
        pub extern "C" fn _initialize() {
            extern "C" {
                fn __wasm_call_ctors();
            }
            unsafe { __wasm_call_ctors() }
        }
    };
}

/// Why a record failed inside the guest. The trap kind (4) is only ever set by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Decode = 1,
    Operator = 2,
    Encode = 3,
    /// A record every window of which had closed (docs/semantics.md, "Late records").
    Late = 5,
}

/// A per-record failure; the record goes to the dead-letter topic with this message.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Display) -> Self {
        // `{:#}` prints an anyhow error with its whole context chain.
        Failure {
            kind,
            message: format!("{:#}", message),
        }
    }
    pub fn decode(message: impl Display) -> Self {
        Failure::new(Kind::Decode, message)
    }
    pub fn operator(message: impl Display) -> Self {
        Failure::new(Kind::Operator, message)
    }
    pub fn encode(message: impl Display) -> Self {
        Failure::new(Kind::Encode, message)
    }
    pub fn late(message: impl Display) -> Self {
        Failure::new(Kind::Late, message)
    }
}

/// One input record, borrowed from the input buffer (no copy, no allocation). `origin` is the
/// source offset the record stands for (docs/abi.md, "Frames").
pub struct Record<'a> {
    pub index: u32,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub timestamp: i64,
    pub origin: i64,
}

/// Appends output frames for the record being processed; outputs inherit its origin.
pub struct Emitter {
    origin: i64,
    count: u32,
}

impl Emitter {
    pub fn emit(&mut self, key: Option<&[u8]>, value: &[u8], timestamp: i64) {
        let _ = self.emit_with::<(), _>(key, timestamp, |buf| {
            buf.extend_from_slice(value);
            Ok(())
        });
    }

    /// Writes the value straight into the output buffer (e.g. a serializer), no temporary.
    pub fn emit_with<E, F>(&mut self, key: Option<&[u8]>, timestamp: i64, write: F) -> Result<(), E>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<(), E>,
    {
        let out = unsafe { &mut OUTPUT };
        let start = out.len();
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&timestamp.to_le_bytes());
        out.extend_from_slice(&self.origin.to_le_bytes());
        match key {
            Some(k) => {
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k);
            }
            None => out.extend_from_slice(&NO_KEY.to_le_bytes()),
        }
        let result = write(out);
        match result {
            Ok(()) => {
                let frame_len = (out.len() - start - 4) as u32;
                out[start..start + 4].copy_from_slice(&frame_len.to_le_bytes());
                self.count += 1;
            }
            Err(_) => out.truncate(start),
        }
        // The buffer may have moved; the host must always see where it is now.
        publish!(out_ptr = out.as_ptr() as u32);
        result
    }
}

/// Names the operator about to run, so an error or trap is attributed to it.
pub fn enter(operator: &'static str) {
    publish!(
        op_ptr = operator.as_ptr() as u32,
        op_len = operator.len() as u32
    );
}

#[doc(hidden)]
pub fn control_address() -> u32 {
    unsafe { &CONTROL as *const Control as u32 }
}

#[doc(hidden)]
pub fn reserve(len: u32) -> u32 {
    let input = unsafe { &mut INPUT };
    if input.capacity() < len as usize {
        input.reserve_exact(len as usize - input.len());
    }
    publish!(
        in_ptr = input.as_ptr() as u32,
        in_cap = input.capacity() as u32
    );
    input.as_ptr() as u32
}

/// Runs `each` over every frame of `in_ptr[..in_len]`; returns 0, or -1 on a malformed frame.
///
/// `base_offset >= 0`: the input comes straight from a topic and record i has offset
/// base_offset + i; `-1`: it is another stage's output and offsets come from the frames' origin.
/// A record whose closure fails leaves no output and one error entry.
pub fn run_stage<F>(in_ptr: u32, in_len: u32, base_offset: i64, mut each: F) -> i32
where
    F: FnMut(&Record, &mut Emitter) -> Result<(), Failure>,
{
    install_panic_hook();
    // Every call reports only its own change records (a stateless stage reports none), and
    // only once it completes (state::end_call).
    state::begin_batch();
    let input = unsafe { std::slice::from_raw_parts(in_ptr as *const u8, in_len as usize) };
    let (out, errors) = unsafe { (&mut OUTPUT, &mut ERRORS) };
    out.clear();
    errors.clear();
    let mut emitter = Emitter {
        origin: -1,
        count: 0,
    };
    let (mut pos, mut index) = (0usize, 0u32);
    let mut status = 0;
    while pos < input.len() {
        let (mut record, next) = match parse_frame(input, pos, index) {
            Some(parsed) => parsed,
            None => {
                status = -1;
                break;
            }
        };
        if base_offset >= 0 {
            record.origin = base_offset + index as i64;
        }
        let origin = record.origin;
        let (mark, mark_count) = (out.len(), emitter.count);
        publish!(
            cur_index = index,
            cur_pos = pos as u32,
            cur_origin = origin,
            op_len = 0,
            panic_len = 0
        );
        publish_buffers(out, errors, mark_count);
        window::publish_marks();
        emitter.origin = origin;
        if let Err(failure) = each(&record, &mut emitter) {
            out.truncate(mark);
            emitter.count = mark_count;
            push_error(errors, index, pos as u32, origin, failure);
        }
        pos = next;
        index += 1;
    }
    publish!(cur_index = NO_RECORD);
    publish_buffers(out, errors, emitter.count);
    state::end_call();
    window::publish_marks();
    status
}

/// CRC-32 (IEEE 802.3, as zlib's `crc32`) lookup table, built at compile time.
const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// The repartition hash (docs/scale-out.md): CRC-32 of the key's bytes, as `zlib.crc32`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc = CRC_TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `sscc_route`: the frames of the input grouped by `crc32(key) % parts` (no key: group 0),
/// their order kept within a group. The output is a table of `parts` (u32 count, u32 bytes)
/// pairs, then the groups' frames one group after the other. Returns 0, or -1 on a malformed
/// frame or a part count outside 1..=65536. Touches no state.
#[doc(hidden)]
pub fn route(in_ptr: u32, in_len: u32, parts: i64) -> i32 {
    state::begin_batch();
    let input = unsafe { std::slice::from_raw_parts(in_ptr as *const u8, in_len as usize) };
    let (out, errors) = unsafe { (&mut OUTPUT, &mut ERRORS) };
    out.clear();
    errors.clear();
    if !(1..=65536).contains(&parts) {
        publish_buffers(out, errors, 0);
        return -1;
    }
    let parts = parts as usize;
    let mut counts = vec![0u32; parts];
    let mut sizes = vec![0usize; parts];
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    let mut pos = 0usize;
    while pos < input.len() {
        let header = match input.get(pos..pos + FRAME_HEADER) {
            Some(h) => h,
            None => {
                publish_buffers(out, errors, 0);
                return -1;
            }
        };
        let frame_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let key_len = u32::from_le_bytes([header[20], header[21], header[22], header[23]]);
        let end = pos + 4 + frame_len;
        let body = pos + FRAME_HEADER;
        if frame_len < 20 || end > input.len() || (key_len != NO_KEY && body + key_len as usize > end) {
            publish_buffers(out, errors, 0);
            return -1;
        }
        let part = if key_len == NO_KEY {
            0
        } else {
            crc32(&input[body..body + key_len as usize]) as usize % parts
        };
        counts[part] += 1;
        sizes[part] += end - pos;
        spans.push((pos, end, part));
        pos = end;
    }
    let mut at = vec![0usize; parts];
    let mut cursor = 8 * parts;
    for p in 0..parts {
        at[p] = cursor;
        cursor += sizes[p];
    }
    out.resize(cursor, 0);
    for p in 0..parts {
        out[8 * p..8 * p + 4].copy_from_slice(&counts[p].to_le_bytes());
        out[8 * p + 4..8 * p + 8].copy_from_slice(&(sizes[p] as u32).to_le_bytes());
    }
    for &(start, end, part) in &spans {
        let to = at[part];
        out[to..to + (end - start)].copy_from_slice(&input[start..end]);
        at[part] += end - start;
    }
    publish_buffers(out, errors, spans.len() as u32);
    0
}

fn publish_buffers(out: &[u8], errors: &[u8], count: u32) {
    publish!(
        out_ptr = out.as_ptr() as u32,
        out_len = out.len() as u32,
        err_ptr = errors.as_ptr() as u32,
        err_len = errors.len() as u32,
        out_count = count,
    );
}

fn parse_frame(input: &[u8], pos: usize, index: u32) -> Option<(Record, usize)> {
    let header = input.get(pos..pos + FRAME_HEADER)?;
    let frame_len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let timestamp = i64::from_le_bytes(header[4..12].try_into().ok()?);
    let origin = i64::from_le_bytes(header[12..20].try_into().ok()?);
    let key_len = u32::from_le_bytes(header[20..24].try_into().ok()?);
    let end = pos.checked_add(4 + frame_len)?;
    let body = input.get(pos + FRAME_HEADER..end)?;
    let (key, value) = if key_len == NO_KEY {
        (None, body)
    } else {
        let key_len = key_len as usize;
        if key_len > body.len() {
            return None;
        }
        (Some(&body[..key_len]), &body[key_len..])
    };
    Some((
        Record {
            index,
            key,
            value,
            timestamp,
            origin,
        },
        end,
    ))
}

/// Error entry: u32 entry_len, u32 index, u32 pos (the record's frame in the input), i64 origin,
/// u32 kind, u32 op_len, op, message.
fn push_error(errors: &mut Vec<u8>, index: u32, pos: u32, origin: i64, failure: Failure) {
    let op: &[u8] =
        unsafe { std::slice::from_raw_parts(CONTROL.op_ptr as *const u8, CONTROL.op_len as usize) };
    let entry_len = 24 + op.len() + failure.message.len();
    errors.extend_from_slice(&(entry_len as u32).to_le_bytes());
    errors.extend_from_slice(&index.to_le_bytes());
    errors.extend_from_slice(&pos.to_le_bytes());
    errors.extend_from_slice(&origin.to_le_bytes());
    errors.extend_from_slice(&(failure.kind as u32).to_le_bytes());
    errors.extend_from_slice(&(op.len() as u32).to_le_bytes());
    errors.extend_from_slice(op);
    errors.extend_from_slice(failure.message.as_bytes());
}

/// Keeps the panic message for the host: the trap that follows carries none.
fn install_panic_hook() {
    unsafe {
        if HOOKED {
            return;
        }
        HOOKED = true;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = std::mem::ManuallyDrop::new(info.to_string());
        publish!(
            panic_ptr = message.as_ptr() as u32,
            panic_len = message.len() as u32
        );
    }));
}

/// The allocator: free lists of small blocks over the system allocator, noting a failed
/// allocation for the host (Rust then aborts without a panic, and the trap alone would not say
/// that the memory limit was hit).
///
/// Why the free lists: a word count allocates a few short strings per word (split, the key), and
/// wasm32's dlmalloc spends ~130 instructions on each malloc and free. A block of up to
/// `SMALL_MAX` bytes comes from a per-size-class free list instead (a few instructions); lists are
/// refilled a slab at a time and never given back, which a service's steady state does not need.
/// wasm32 instances are single-threaded, so the lists need no lock.
struct NotingAllocator;

const OOM_MESSAGE: &str = "out of memory: an allocation failed at the guest memory limit";
/// Size classes 8, 16, 32, 64 bytes (align <= 8); anything else goes to the system allocator.
const SMALL_MAX: usize = 64;
const SLAB: usize = 4096;
static mut FREE: [*mut u8; 4] = [std::ptr::null_mut(); 4];

fn noted(ptr: *mut u8) -> *mut u8 {
    if ptr.is_null() {
        publish!(
            panic_ptr = OOM_MESSAGE.as_ptr() as u32,
            panic_len = OOM_MESSAGE.len() as u32
        );
    }
    ptr
}

/// The size class of a layout, if it is small.
#[inline]
fn class(layout: &Layout) -> Option<usize> {
    let size = layout.size();
    if layout.align() > 8 || size > SMALL_MAX {
        return None;
    }
    Some(match size {
        0..=8 => 0,
        9..=16 => 1,
        17..=32 => 2,
        _ => 3,
    })
}

#[inline]
fn class_size(class: usize) -> usize {
    8 << class
}

/// Pops a block of `class`, refilling its list with a slab when it is empty.
unsafe fn small_alloc(class: usize) -> *mut u8 {
    let head = FREE[class];
    if !head.is_null() {
        FREE[class] = *(head as *mut *mut u8);
        return head;
    }
    let slab = System.alloc(Layout::from_size_align_unchecked(SLAB, 8));
    if slab.is_null() {
        return noted(slab);
    }
    let size = class_size(class);
    // Blocks 1.. go to the list, block 0 is the answer.
    let mut at = SLAB - size;
    while at >= size {
        let block = slab.add(at);
        *(block as *mut *mut u8) = FREE[class];
        FREE[class] = block;
        at -= size;
    }
    slab
}

#[inline]
unsafe fn small_free(class: usize, ptr: *mut u8) {
    *(ptr as *mut *mut u8) = FREE[class];
    FREE[class] = ptr;
}

unsafe impl GlobalAlloc for NotingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(&layout) {
            Some(c) => small_alloc(c),
            None => noted(System.alloc(layout)),
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class(&layout) {
            Some(c) => {
                let ptr = small_alloc(c);
                if !ptr.is_null() {
                    std::ptr::write_bytes(ptr, 0, layout.size());
                }
                ptr
            }
            None => noted(System.alloc_zeroed(layout)),
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class(&layout), class(&new_layout)) {
            (None, None) => noted(System.realloc(ptr, layout, new_size)),
            (Some(a), Some(b)) if a == b => ptr,
            (old, _) => {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    match old {
                        Some(c) => small_free(c, ptr),
                        None => System.dealloc(ptr, layout),
                    }
                }
                new
            }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(&layout) {
            Some(c) => small_free(c, ptr),
            None => System.dealloc(ptr, layout),
        }
    }
}

#[global_allocator]
static ALLOCATOR: NotingAllocator = NotingAllocator;
