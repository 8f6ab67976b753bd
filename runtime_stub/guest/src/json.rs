//! The `json` converter: serde_json straight from the input slice and into the output buffer.

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
