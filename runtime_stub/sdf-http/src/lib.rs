//! sscc's `sdf-http` (and the preview `ssdk-http`): the public API of SDF's sdf-http guest crate,
//! with the request run by the host instead of WASI HTTP (docs/http.md, docs/abi.md §2).
//!
//! The guest encodes the request (wire.rs), calls the host import `sscc.http_request`, and gets
//! the response back through `sscc.http_response`, like `sql()`. Any failure (policy, connection,
//! timeout, size cap) is an `Err` whose message is the host's reason, so the record that made the
//! call goes to the dead-letter topic with it; an HTTP error status is a normal `Response`.

pub mod http {
    pub use ::http::*;
}

pub type Result<T> = anyhow::Result<T>;
pub type Error = anyhow::Error;

mod wire;

pub mod blocking {
    use super::http::{Request, Response};
    use super::Result;

    /// Send `request` and wait for the whole response (status, headers, body).
    pub fn send<T: AsRef<[u8]>>(request: Request<T>) -> Result<Response<Vec<u8>>> {
        crate::wire::send(&request)
    }
}

#[cfg(feature = "v0_4_1")]
mod wrapper;
#[cfg(feature = "v0_4_1")]
pub use wrapper::*;

#[cfg(feature = "v0_4_3")]
mod body;
#[cfg(feature = "v0_4_3")]
pub use body::*;
