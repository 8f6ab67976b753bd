//! The `raw` converter (SDF-FORMAT.md §2.3): strings as UTF-8, numbers big-endian, bool in the
//! last bit of one byte, bytes passed through.

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
    fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
        match bytes {
            [b] => Ok(b & 1 == 1),
            _ => Err(Failure::decode(format!(
                "raw bool needs 1 byte, got {}",
                bytes.len()
            ))),
        }
    }
    fn to_raw(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

macro_rules! raw_number {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            fn from_raw(bytes: &[u8]) -> Result<Self, Failure> {
                let array = bytes.try_into().map_err(|_| Failure::decode(format!(
                    "raw {} needs {} bytes, got {}",
                    stringify!($t), std::mem::size_of::<$t>(), bytes.len()
                )))?;
                Ok(<$t>::from_be_bytes(array))
            }
            fn to_raw(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}

raw_number!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);
