//! Event-time windows in the guest (docs/semantics.md, docs/state-design.md §3).
//!
//! The Rust port of `sscc_runtime/windows.py`'s per-record rules: which windows a timestamp
//! belongs to, which of them the watermark has already closed, and when a record is late. The
//! host passes the watermark *before* the batch (`sscc_window_begin`); the guest keeps the running
//! maximum while it classifies records in stream order, and reports back the windows on-time
//! records went to and the largest timestamp it saw (`sscc_window_report`). Deciding which windows
//! close, idleness and snapshots stay on the host (`WindowEngine`), which is O(windows) per batch.
//!
//! The report is published like `out_len`: the touched-window count at record boundaries only (a
//! trap leaves the count of the completed records), the largest timestamp as soon as a record has
//! been classified (a record is judged, and moves the watermark, even when a later step fails).

use crate::Failure;

/// The window of a service: compile-time constants from the IR's `Window` node (all in ms).
pub struct Spec {
    pub duration: i64,
    pub slide: i64,
    pub offset: i64,
    pub grace: i64,
}

/// "No watermark yet" as the host passes it (no record seen).
pub const NONE: i64 = i64::MIN;

static mut WATERMARK: i64 = NONE;
static mut TOUCHED: Vec<(i64, i64)> = Vec::new();
static mut SEEN: Option<std::collections::HashSet<(i64, i64), std::hash::BuildHasherDefault<crate::keyed::FastHasher>>> = None;
static mut ACTIVE: bool = false;
/// Read by the host: max_ts (i64), touched ptr (u32), touched bytes (u32, 16 per window).
#[repr(C)]
pub struct Report {
    pub max_ts: i64,
    pub win_ptr: u32,
    pub win_len: u32,
}
static mut REPORT: Report = Report { max_ts: NONE, win_ptr: 0, win_len: 0 };

fn clamp(v: i128) -> i64 {
    if v < i64::MIN as i128 {
        i64::MIN
    } else if v > i64::MAX as i128 {
        i64::MAX
    } else {
        v as i64
    }
}

impl Spec {
    /// The largest window start <= ts (unclamped), as `Assigner.last_start`.
    fn last_start(&self, ts: i64) -> i128 {
        let (ts, slide) = (ts as i128, self.slide as i128);
        let phase = (self.offset as i128).rem_euclid(slide);
        ts - (ts - phase).rem_euclid(slide)
    }

    /// Every window containing ts, in order of start, computed in i128 and clamped to i64: exact
    /// near i64's ends, where `span` hands over to it (i128 division is a library call in wasm32,
    /// so everything else goes through `span`'s i64 arithmetic).
    fn windows_exact(&self, ts: i64) -> Vec<(i64, i64)> {
        let duration = self.duration as i128;
        let mut start = self.last_start(ts);
        let mut out = Vec::new();
        if self.slide == self.duration {
            out.push((clamp(start), clamp(start + duration)));
            return out;
        }
        while start + duration > ts as i128 {
            out.push((clamp(start), clamp(start + duration)));
            start -= self.slide as i128;
        }
        out.reverse();
        out
    }

    /// Every window containing ts, in order of start: `count` windows whose starts step by
    /// `slide`, without a list. Event times and spans of real streams are far from i64's ends,
    /// where plain i64 arithmetic is exact; near them the exact list (`windows_exact`).
    pub fn span(&self, ts: i64) -> Windows {
        const SAFE: i64 = 1 << 60;
        let safe = |v: i64| v > -SAFE && v < SAFE;
        if safe(ts) && safe(self.offset) && self.slide > 0 && self.slide < SAFE && self.duration < SAFE {
            let phase = self.offset.rem_euclid(self.slide);
            let last = ts - (ts - phase).rem_euclid(self.slide);
            // starts last, last - slide, ... while start + duration > ts
            let reach = last + self.duration - ts; // > 0 when the last window contains ts
            let count = if self.slide == self.duration {
                1
            } else if reach <= 0 {
                0 // a gap between windows (duration < slide)
            } else {
                ((reach - 1) / self.slide + 1) as usize
            };
            let first = last - (count as i64 - 1) * self.slide;
            return Windows::Range { first, step: self.slide, duration: self.duration, count };
        }
        Windows::List(self.windows_exact(ts))
    }

    fn closed(&self, watermark: i64, end: i64) -> bool {
        watermark != NONE && watermark as i128 >= end as i128 + self.grace as i128
    }
}

/// The windows a record counts in, in order of start; iterated by the generated per-window loop.
#[derive(Clone, Debug, PartialEq)]
pub enum Windows {
    /// `count` windows `[first + i * step, first + i * step + duration)`
    Range { first: i64, step: i64, duration: i64, count: usize },
    List(Vec<(i64, i64)>),
}

impl Windows {
    pub fn len(&self) -> usize {
        match self {
            Windows::Range { count, .. } => *count,
            Windows::List(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn first(&self) -> Option<(i64, i64)> {
        match self {
            Windows::Range { count: 0, .. } => None,
            Windows::Range { first, duration, .. } => Some((*first, *first + *duration)),
            Windows::List(list) => list.first().copied(),
        }
    }

    /// Drops the windows the watermark has closed: a prefix, since ends grow with starts.
    fn open_only<F: Fn(i64) -> bool>(&mut self, closed: F) {
        match self {
            Windows::Range { first, step, duration, count } => {
                while *count > 0 && closed(*first + *duration) {
                    *first += *step;
                    *count -= 1;
                }
            }
            Windows::List(list) => list.retain(|w| !closed(w.1)),
        }
    }
}

pub enum WindowsIter {
    Range { next: i64, step: i64, duration: i64, left: usize },
    List(std::vec::IntoIter<(i64, i64)>),
}

impl Iterator for WindowsIter {
    type Item = (i64, i64);
    #[inline]
    fn next(&mut self) -> Option<(i64, i64)> {
        match self {
            WindowsIter::Range { next, step, duration, left } => {
                if *left == 0 {
                    return None;
                }
                let w = (*next, *next + *duration);
                *next += *step;
                *left -= 1;
                Some(w)
            }
            WindowsIter::List(it) => it.next(),
        }
    }
}

impl IntoIterator for Windows {
    type Item = (i64, i64);
    type IntoIter = WindowsIter;
    fn into_iter(self) -> WindowsIter {
        match self {
            Windows::Range { first, step, duration, count } => WindowsIter::Range { next: first, step, duration, left: count },
            Windows::List(list) => WindowsIter::List(list.into_iter()),
        }
    }
}

/// The window sets (first window, count) recorded last in this call: consecutive records nearly
/// always count in the same windows, which then need no touched-window bookkeeping.
static mut LAST_SETS: [((i64, i64), usize); 2] = [((0, 0), 0); 2];

/// Starts a batch of the windowed stage: the watermark before it, and an empty report.
pub fn begin(watermark: i64) {
    unsafe {
        WATERMARK = watermark;
        TOUCHED.clear();
        SEEN.get_or_insert_with(Default::default).clear();
        LAST_SETS = [((0, 0), 0); 2];
        ACTIVE = true;
        REPORT.max_ts = NONE;
    }
    publish_marks();
}

/// The windows record `ts` counts in (those the watermark before it has not closed), or a
/// `late` failure when there are none; advances the watermark past `ts` either way.
pub fn classify(spec: &Spec, ts: i64) -> Result<Windows, Failure> {
    let before = unsafe { WATERMARK };
    let mut windows = spec.span(ts);
    windows.open_only(|end| spec.closed(before, end));
    unsafe {
        if WATERMARK == NONE || ts > WATERMARK {
            WATERMARK = ts;
        }
        if REPORT.max_ts == NONE || ts > REPORT.max_ts {
            std::ptr::write_volatile(std::ptr::addr_of_mut!(REPORT.max_ts), ts);
        }
    }
    let first = match windows.first() {
        Some(w) => w,
        None => {
            let (start, end) = spec.span(ts).into_iter().last().unwrap_or((ts, ts));
            return Err(Failure::late(format!(
                "late: event time {} ms is past window [{}, {}) + grace {} ms (watermark {} ms)",
                ts, start, end, spec.grace, before
            )));
        }
    };
    let set = (first, windows.len());
    let last_sets = unsafe { &mut LAST_SETS };
    if last_sets[0] == set || last_sets[1] == set {
        return Ok(windows);
    }
    let (touched, seen) = unsafe { (&mut TOUCHED, SEEN.get_or_insert_with(Default::default)) };
    for w in windows.clone() {
        // The windows of a record are nearly always among the last ones touched.
        if touched[touched.len().saturating_sub(8)..].contains(&w) {
            continue;
        }
        if seen.insert(w) {
            touched.push(w);
        }
    }
    *last_sets = [set, last_sets[0]];
    unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!(REPORT.win_ptr), touched.as_ptr() as u32) };
    Ok(windows)
}

/// Publishes the touched windows of the completed records (called at record boundaries).
pub fn publish_marks() {
    unsafe {
        if !ACTIVE {
            return;
        }
        let touched = &TOUCHED;
        std::ptr::write_volatile(std::ptr::addr_of_mut!(REPORT.win_ptr), touched.as_ptr() as u32);
        std::ptr::write_volatile(std::ptr::addr_of_mut!(REPORT.win_len), (touched.len() * 16) as u32);
    }
}

#[doc(hidden)]
pub fn report_address() -> u32 {
    unsafe { std::ptr::addr_of!(REPORT) as u32 }
}

/// A flush input frame's value: window start and end (i64 LE each) and a flag byte (1 = run the
/// flush and drop the window, 0 = only drop it: the flush trapped on an earlier attempt).
pub fn flush_frame(value: &[u8]) -> Result<((i64, i64), bool), Failure> {
    if value.len() != 17 {
        return Err(Failure::decode("a flush frame holds start, end and a flag (17 bytes)"));
    }
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&value[0..8]);
    b.copy_from_slice(&value[8..16]);
    Ok(((i64::from_le_bytes(a), i64::from_le_bytes(b)), value[16] != 0))
}

/// The windowed exports, expanded in the generated crate of a windowed service.
#[macro_export]
macro_rules! window_exports {
    () => {
        #[no_mangle]
        pub extern "C" fn sscc_window_begin(watermark: i64) {
            $crate::window::begin(watermark)
        }
        #[no_mangle]
        pub extern "C" fn sscc_window_report() -> u32 {
            $crate::window::report_address()
        }
    };
}
