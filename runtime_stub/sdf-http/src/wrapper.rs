//! The reqwest-like layer of 0.4.1+: `get(uri)` and `ByteResponse`.

use std::convert::TryInto;
use std::ops::{Deref, DerefMut};

use crate::http::{Response, Uri};

/// A response with its whole body; dereferences to `http::Response<Vec<u8>>`.
#[derive(Debug)]
pub struct ByteResponse(Response<Vec<u8>>);

impl ByteResponse {
    pub(crate) fn new(response: Response<Vec<u8>>) -> Self {
        ByteResponse(response)
    }

    /// The body as UTF-8 text.
    pub fn text(self) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.0.into_body())?)
    }

    #[cfg(feature = "v0_4_2")]
    pub fn bytes(self) -> Vec<u8> {
        self.0.into_body()
    }

    #[cfg(feature = "v0_4_2")]
    pub fn as_slice(&self) -> &[u8] {
        self.0.body().as_slice()
    }

    #[cfg(feature = "v0_4_2")]
    pub fn into_inner(self) -> Response<Vec<u8>> {
        self.0
    }
}

impl Deref for ByteResponse {
    type Target = Response<Vec<u8>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for ByteResponse {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// `GET uri` with an empty body.
pub fn get<T>(uri: T) -> anyhow::Result<ByteResponse>
where
    T: TryInto<Uri>,
    <T as TryInto<Uri>>::Error: Into<crate::http::Error>,
{
    let uri: Uri = uri.try_into().map_err(Into::into)?;
    let request = crate::http::Request::builder().uri(uri).body(Vec::<u8>::new())?;
    Ok(ByteResponse::new(crate::blocking::send(request)?))
}
