//! The `json` converter: serde_json straight from the input slice and into the output buffer.
//!
//! A flat object of primitive fields (the usual event) is first tried by a decoder the generator
//! writes for its type (`Fast`, docs/backend-rust.md): it accepts only the plain form (no escapes,
//! no exponents, no unknown, missing or repeated members) and returns `None` for anything else, so
//! serde_json decides every other input, and says why a bad record is bad. Where the fast path
//! accepts, it gives exactly what serde_json gives (tests/backend_rust/test_fast_decode.py).

use crate::{Emitter, Failure};
use serde::{Deserialize, Serialize};

/// Decodes a record's key or value; a failure dead-letters the record as `decode`.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(Failure::decode)
}

/// Encodes a key to bytes (values go through `Emitter::emit_json` without a temporary).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(Failure::encode)
}

impl Emitter {
    /// Emits one record whose value is `value` as JSON; a failure is an `encode` error.
    pub fn emit_json<T: Serialize + ?Sized>(
        &mut self,
        key: Option<&[u8]>,
        value: &T,
        timestamp: i64,
    ) -> Result<(), Failure> {
        self.emit_with(key, timestamp, |buf| serde_json::to_writer(buf, value))
            .map_err(Failure::encode)
    }
}

/// Decodes with the type's generated `Fast` decoder when the input is in its plain form, else
/// with serde_json (`decode`).
pub fn decode_fast<'a, T: Fast + Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Failure> {
    match T::fast(bytes) {
        Some(v) => Ok(v),
        None => decode(bytes),
    }
}

/// A generated decoder for a flat object of primitive fields; `None` = "let serde_json decide".
pub trait Fast: Sized {
    fn fast(bytes: &[u8]) -> Option<Self>;
}

/// A cursor over a JSON document for `Fast` decoders: every method returns `None` on input it
/// does not handle (so that serde_json gets it), never an error of its own.
pub struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
];

impl<'a> Scan<'a> {
    #[inline]
    pub fn new(b: &'a [u8]) -> Self {
        Scan { b, i: 0 }
    }

    /// Skips JSON whitespace (exactly the four characters serde_json skips); the next byte.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\t' || c == b'\r' {
                self.i += 1;
            } else {
                return Some(c);
            }
        }
        None
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// `{`; whether a member follows (false for `{}`).
    #[inline]
    pub fn open(&mut self) -> Option<bool> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(false);
        }
        Some(true)
    }

    /// A member's name (without escapes) and the `:` after it.
    #[inline]
    pub fn key(&mut self) -> Option<&'a [u8]> {
        let name = self.raw_str()?;
        self.eat(b':')?;
        Some(name)
    }

    /// After a member: `,` (true: another member follows) or `}` (false).
    #[inline]
    pub fn more(&mut self) -> Option<bool> {
        let c = self.peek()?;
        self.i += 1;
        match c {
            b',' => Some(true),
            b'}' => Some(false),
            _ => None,
        }
    }

    /// Nothing but whitespace is left.
    #[inline]
    pub fn end(&mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(_) => None,
        }
    }

    /// A string's bytes, when it has no escape and no control character.
    #[inline]
    fn raw_str(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let c = *self.b.get(self.i)?;
            if c == b'"' {
                let s = &self.b[start..self.i];
                self.i += 1;
                return Some(s);
            }
            if c == b'\\' || c < 0x20 {
                return None;
            }
            self.i += 1;
        }
    }

    #[inline]
    pub fn string(&mut self) -> Option<String> {
        let s = self.raw_str()?;
        std::str::from_utf8(s).ok().map(str::to_string)
    }

    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
        let c = self.peek()?;
        let rest = &self.b[self.i..];
        if c == b't' && rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if c == b'f' && rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }

    /// `null` (consumed) or not (nothing consumed): an `Option` member.
    #[inline]
    pub fn null(&mut self) -> Option<bool> {
        let c = self.peek()?;
        if c == b'n' && self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Some(true);
        }
        Some(false)
    }

    /// An optional `-` and 1-19 digits without a leading zero: (negative, magnitude, digits).
    #[inline]
    fn digits(&mut self) -> Option<(bool, u64, usize)> {
        let neg = self.peek()? == b'-';
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            n = n.wrapping_mul(10).wrapping_add((c - b'0') as u64);
            self.i += 1;
        }
        let count = self.i - start;
        if count == 0 || count > 19 || (count > 1 && self.b[start] == b'0') {
            return None;
        }
        Some((neg, n, count))
    }

    /// An integer member: what serde_json reads as an integer (no fraction or exponent; `-0` is a
    /// float to serde_json) and fits `T`.
    #[inline]
    pub fn int<T: TryFrom<i64> + TryFrom<u64>>(&mut self) -> Option<T> {
        let (neg, n, _) = self.digits()?;
        if matches!(self.b.get(self.i), Some(b'.') | Some(b'e') | Some(b'E')) {
            return None;
        }
        if !neg {
            return T::try_from(n).ok();
        }
        if n == 0 || n > 1u64 << 63 {
            return None;
        }
        T::try_from((n as i64).wrapping_neg()).ok()
    }

    /// An f64 member when one IEEE operation gives it exactly rounded (Clinger's fast path: a
    /// significand up to 2^53 and a power of ten up to 22); exponents are left to serde_json.
    #[inline]
    pub fn f64(&mut self) -> Option<f64> {
        let (neg, mut m, mut count) = self.digits()?;
        let mut scale = 0usize;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            let start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if !c.is_ascii_digit() {
                    break;
                }
                m = m.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                self.i += 1;
            }
            scale = self.i - start;
            count += scale;
            if scale == 0 || count > 19 {
                return None;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e') | Some(b'E')) || m > 1u64 << 53 || scale > 22 {
            return None;
        }
        let v = m as f64 / POW10[scale];
        Some(if neg { -v } else { v })
    }
}
