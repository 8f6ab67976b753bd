//! `sql("select ...")` for inline code (docs/state-design.md §5): the query runs on the host, over
//! its SQLite mirror of the state tables in scope, and comes back as a small dataframe with the
//! cursor API SDF code uses: `rows()`, `next()`, typed getters, `col()`, `key()`, `schema([...])`.
//!
//! Two host imports, so the host never re-enters the guest to allocate: `sql` runs the query and
//! keeps the result (JSON `{"columns": [...], "rows": [[...], ...]}`) pending, returning its length,
//! or `-(message length) - 1` on an SQL error; `sql_result` copies the pending bytes to the guest.
//! A module that never calls `sql()` has neither import (the linker drops them).
//!
//! The service's own states live here, not on the host: with each query the guest sends the rows
//! of the current window of every own state that changed since the host last got them
//! (`sync_state`, called by the generated `sql()`), and the host's tables of `from:` references
//! come from their owners' changelogs. So the host decodes one row per key and query instead of
//! every change record, and a query sees the changes of earlier records of the same call.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

#[link(wasm_import_module = "sscc")]
extern "C" {
    #[link_name = "sql"]
    fn host_sql(query_ptr: u32, query_len: u32, window_start: i64, window_end: i64, rows_ptr: u32, rows_len: u32) -> i32;
    #[link_name = "sql_result"]
    fn host_sql_result(dst_ptr: u32);
}

#[derive(serde::Deserialize)]
struct Wire {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

/// A query's result.
#[derive(Clone, Debug)]
pub struct DataFrame {
    columns: Rc<Vec<String>>,
    rows: Rc<Vec<Vec<Value>>>,
}

/// A column of a result, found by name (`col("count")`, `key()`, `schema([...])`).
#[derive(Clone, Debug)]
pub struct Col {
    index: usize,
    name: String,
}

/// A cursor over a result's rows: `next()` moves to the next row (the first on the first call).
#[derive(Debug)]
pub struct Rows {
    frame: DataFrame,
    at: Cell<usize>, // 1-based: 0 = before the first row
}

/// What the host holds of each own state: (state generation, window), None = unknown.
static mut SYNCED: [Option<(u64, (i64, i64))>; crate::state::MAX_STATES] = [None; crate::state::MAX_STATES];
/// Rows to send with the next query: per state, u32 index, u32 length, JSON
/// `[[key, column, ...], ...]` in the table's column order.
static mut OUTGOING: Vec<u8> = Vec::new();

/// Queues own state `index`'s rows of the current window for the next query, unless the host
/// already has exactly those (same window, no change since). `encode` writes a value's columns
/// as JSON, each after a `,` (the generated code knows the table's columns).
pub fn sync_state<V, F: Fn(&V, &mut Vec<u8>)>(index: usize, state: &crate::keyed::Keyed<V>, encode: F) {
    let w = crate::state::window();
    let mark = Some((state.generation(), w));
    let (synced, buf) = unsafe { (&mut SYNCED[index], &mut OUTGOING) };
    if *synced == mark {
        return;
    }
    buf.extend_from_slice(&(index as u32).to_le_bytes());
    let at = buf.len();
    buf.extend_from_slice(&0u32.to_le_bytes()); // patched below
    buf.push(b'[');
    for (i, (key, value)) in state.entries_of(w).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'[');
        let _ = serde_json::to_writer(&mut *buf, key);
        encode(value, buf);
        buf.push(b']');
    }
    buf.push(b']');
    let len = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    *synced = mark;
}

/// Runs `query` on the host.
pub fn query(query: &str) -> Result<DataFrame> {
    // The window the code runs for (a flush: the closing one): references show its rows.
    let (start, end) = crate::state::window();
    let rows = unsafe { &mut OUTGOING };
    let n = unsafe { host_sql(query.as_ptr() as u32, query.len() as u32, start, end, rows.as_ptr() as u32, rows.len() as u32) };
    rows.clear();
    let (len, failed) = if n >= 0 { (n as usize, false) } else { ((-(n as i64) - 1) as usize, true) };
    if failed {
        // Whether the host took the rows is unknown: send every state whole next time.
        unsafe { SYNCED = [None; crate::state::MAX_STATES] };
    }
    let mut buf = vec![0u8; len];
    unsafe { host_sql_result(buf.as_mut_ptr() as u32) };
    if failed {
        bail!("sql: {}", String::from_utf8_lossy(&buf));
    }
    let wire: Wire = serde_json::from_slice(&buf).map_err(|e| anyhow!("sql: unreadable result from the host: {}", e))?;
    Ok(DataFrame { columns: Rc::new(wire.columns), rows: Rc::new(wire.rows) })
}

impl DataFrame {
    pub fn rows(&self) -> Result<Rows> {
        Ok(Rows { frame: self.clone(), at: Cell::new(0) })
    }

    pub fn col(&self, name: &str) -> Result<Col> {
        match self.columns.iter().position(|c| c == name) {
            Some(index) => Ok(Col { index, name: name.to_string() }),
            None => bail!("sql: the result has no column `{}` (columns: {})", name, self.columns.join(", ")),
        }
    }

    /// The state key column, `_key`.
    pub fn key(&self) -> Result<Col> {
        self.col("_key")
    }

    /// The named columns, in the order asked for.
    pub fn schema<I, S>(&self, names: I) -> Result<Vec<Col>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        names.into_iter().map(|n| self.col(n.as_ref())).collect()
    }

    /// (rows, columns)
    pub fn shape(&self) -> (usize, usize) {
        (self.rows.len(), self.columns.len())
    }

    /// Another query (early 0.5 code calls `sql` on a state or a result); it runs over the same
    /// tables as `sql()`.
    pub fn sql(&self, q: &str) -> Result<DataFrame> {
        query(q)
    }
}

macro_rules! int_getter {
    ($($name:ident: $t:ty),*) => {$(
        pub fn $name(&self, col: &Col) -> Result<$t> {
            let v = self.cell(col)?;
            let n = match v {
                Value::Number(n) if n.is_i64() => n.as_i64().map(|i| i as i128),
                Value::Number(n) if n.is_u64() => n.as_u64().map(|u| u as i128),
                Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i128),
                Value::Bool(b) => Some(*b as i128),
                _ => None,
            };
            match n {
                Some(n) if n >= <$t>::MIN as i128 && n <= <$t>::MAX as i128 => Ok(n as $t),
                _ => bail!("sql: column `{}` holds {}, not a {}", col.name, v, stringify!($t)),
            }
        }
    )*};
}

impl Rows {
    pub fn next(&self) -> bool {
        let at = self.at.get();
        if at < self.frame.rows.len() {
            self.at.set(at + 1);
            true
        } else {
            self.at.set(self.frame.rows.len() + 1);
            false
        }
    }

    pub fn shape(&self) -> (usize, usize) {
        self.frame.shape()
    }

    fn cell(&self, col: &Col) -> Result<&Value> {
        let at = self.at.get();
        if at == 0 || at > self.frame.rows.len() {
            bail!("sql: no current row (call `next()` first)");
        }
        self.frame.rows[at - 1].get(col.index).ok_or_else(|| anyhow!("sql: column `{}` is missing", col.name))
    }

    pub fn str(&self, col: &Col) -> Result<String> {
        match self.cell(col)? {
            Value::String(s) => Ok(s.clone()),
            Value::Null => bail!("sql: column `{}` is null", col.name),
            other => Ok(other.to_string()),
        }
    }

    pub fn f64(&self, col: &Col) -> Result<f64> {
        match self.cell(col)? {
            Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            other => bail!("sql: column `{}` holds {}, not a number", col.name, other),
        }
    }

    pub fn f32(&self, col: &Col) -> Result<f32> {
        self.f64(col).map(|f| f as f32)
    }

    pub fn bool(&self, col: &Col) -> Result<bool> {
        match self.cell(col)? {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64() != Some(0)),
            other => bail!("sql: column `{}` holds {}, not a bool", col.name, other),
        }
    }

    int_getter!(u8: u8, u16: u16, u32: u32, u64: u64, i8: i8, i16: i16, i32: i32, i64: i64);
}
