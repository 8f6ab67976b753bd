//! 0.4.3's body-first request builder: `json(body).bearer(token).post(uri)`.

use std::any::Any;
use std::convert::{TryFrom, TryInto};
use std::ops::{Deref, DerefMut};

use crate::http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use crate::http::request::Builder;
use crate::http::{Method, Request, Uri, Version};
use crate::ByteResponse;

/// A request builder that holds its body; dereferences to `http::request::Builder`.
pub struct BodyBuilder<Body> {
    builder: Builder,
    body: Body,
}

/// A request whose body is `body` (already serialized JSON) with `Content-Type: application/json`.
pub fn json<T>(body: T) -> BodyBuilder<T> {
    BodyBuilder { builder: Request::builder().header(CONTENT_TYPE, "application/json"), body }
}

impl BodyBuilder<Vec<u8>> {
    pub fn empty() -> Self {
        BodyBuilder { builder: Request::builder(), body: Vec::new() }
    }
}

impl<Body> BodyBuilder<Body>
where
    Body: AsRef<[u8]>,
{
    pub fn body(self) -> Body {
        self.body
    }

    pub fn body_ref(&self) -> &Body {
        &self.body
    }

    pub fn version(mut self, version: Version) -> Self {
        self.builder = self.builder.version(version);
        self
    }

    /// Set the `Authorization` header.
    pub fn auth<V>(self, token: V) -> Self
    where
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<crate::http::Error>,
    {
        self.header(AUTHORIZATION, token)
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.auth(format!("Bearer {}", token))
    }

    pub fn header<K, V>(mut self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<crate::http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<crate::http::Error>,
    {
        self.builder = self.builder.header(key, value);
        self
    }

    pub fn extension<T>(mut self, extension: T) -> Self
    where
        T: Clone + Any + Send + Sync + 'static,
    {
        self.builder = self.builder.extension(extension);
        self
    }

    /// `POST uri` with this body; the whole response.
    pub fn post<T>(self, uri: T) -> anyhow::Result<ByteResponse>
    where
        T: TryInto<Uri>,
        <T as TryInto<Uri>>::Error: Into<crate::http::Error>,
    {
        self.send(Method::POST, uri)
    }

    /// `GET uri` with this body; the whole response.
    pub fn get<T>(self, uri: T) -> anyhow::Result<ByteResponse>
    where
        T: TryInto<Uri>,
        <T as TryInto<Uri>>::Error: Into<crate::http::Error>,
    {
        self.send(Method::GET, uri)
    }

    fn send<T>(self, method: Method, uri: T) -> anyhow::Result<ByteResponse>
    where
        T: TryInto<Uri>,
        <T as TryInto<Uri>>::Error: Into<crate::http::Error>,
    {
        let uri: Uri = uri.try_into().map_err(Into::into)?;
        let request = self.builder.method(method).uri(uri).body(self.body)?;
        Ok(ByteResponse::new(crate::blocking::send(request)?))
    }
}

impl<Body> Deref for BodyBuilder<Body> {
    type Target = Builder;

    fn deref(&self) -> &Builder {
        &self.builder
    }
}

impl<Body> DerefMut for BodyBuilder<Body> {
    fn deref_mut(&mut self) -> &mut Builder {
        &mut self.builder
    }
}
