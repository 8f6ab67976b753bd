//! The `raw` converter (SDF-FORMAT.md §2.3): strings as UTF-8, bytes passed through; numbers and
//! bools as text, with SDF's binary forms (big-endian numbers, a bool in the last bit of one byte)
//! also accepted on decode — docs/runtime.md, "Raw numbers", says why.

use crate::Failure;

pub trait Raw: Sized {
    fn from_raw(bytes: &[u8]) -> Result<Self, Failure>;
    fn to_raw(&self, out: &mut Vec<u8>);
}

/// Decodes a record's key or value; a failure dead-letters the record as `decode`.
pub fn decode<T: Raw>(bytes: &[u8]) -> Result<T, Failure> {
    T::from_raw(bytes)
}

/// Encodes a key or value (for `Emitter::emit_with`, pass `|buf| { v.to_raw(buf); Ok(()) }`).
pub fn encode<T: Raw>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.to_raw(&mut out);
    out
}

impl Raw for String {
    fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
        String::from_utf8(bytes.to_vec()).map_err(Failure::decode)
    }
    fn to_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl Raw for Vec<u8> {
    fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
        Ok(bytes.to_vec())
    }
    fn to_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Raw for bool {
    /// `true` / `false` as text (what a user types), else one byte whose last bit is the value
    /// (SDF-FORMAT.md §2.3).
    fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
        match text(bytes) {
            Some("true") => return Ok(true),
            Some("false") => return Ok(false),
            _ => {}
        }
        match bytes {
            [b] => Ok(b & 1 == 1),
            _ => Err(Failure::decode(format!(
                "raw bool: expected `true`, `false` or 1 byte, got {}",
                shown(bytes)
            ))),
        }
    }
    fn to_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

/// The record as trimmed UTF-8 text, if it is text (trailing `\r` or spaces from a typed line
/// do not count).
fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().map(|s| s.trim())
}

fn shown(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.len() <= 40 => format!("{:?}", s),
        Ok(s) => format!("{} bytes of text", s.len()),
        Err(_) => format!("{} bytes", bytes.len()),
    }
}

/// Numbers are decimal text on the wire (docs/runtime.md, "Raw numbers"): what `sscc topic
/// produce` and `fluvio produce` send for a typed line, and what `consume` shows. Decoding also
/// takes exactly `size_of` bytes that are not decimal text as a big-endian number (SDF-FORMAT.md
/// §2.3), so a binary producer still works; text wins when both readings exist (`b"12"` as u16).
/// Integers and floats decode alike; this is the `from_raw` of both (they differ in `to_raw`).
macro_rules! number_from_raw {
    ($t:ty) => {
        fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
            if let Some(v) = text(bytes).and_then(|s| s.parse::<$t>().ok()) {
                return Ok(v);
            }
            let array = bytes.try_into().map_err(|_| Failure::decode(format!(
                "raw {}: expected a decimal number or {} big-endian bytes, got {}",
                stringify!($t), std::mem::size_of::<$t>(), shown(bytes)
            )))?;
            Ok(<$t>::from_be_bytes(array))
        }
    };
}

macro_rules! raw_integer {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            number_from_raw!($t);
            fn to_raw(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(self.to_string().as_bytes());
            }
        }
    )*};
}

raw_integer!(u8, u16, u32, u64, i8, i16, i32, i64);

/// Floats as text too; written the way the JSON converter writes them (shortest round-trip form:
/// `0.1`, `1.0`, `1e300`), `NaN` / `inf` / `-inf` when not finite.
macro_rules! raw_float {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            number_from_raw!($t);
            fn to_raw(&self, out: &mut Vec<u8>) {
                if self.is_finite() {
                    float_text(*self, out);
                } else {
                    out.extend_from_slice(self.to_string().as_bytes());
                }
            }
        }
    )*};
}

raw_float!(f32, f64);

#[cfg(feature = "json")]
fn float_text<T: serde::Serialize>(v: T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(out, &v);
}

#[cfg(not(feature = "json"))]
fn float_text<T: std::fmt::Display>(v: T, out: &mut Vec<u8>) {
    out.extend_from_slice(v.to_string().as_bytes());
}
