//! The request and response as bytes between guest and host (docs/abi.md, "HTTP"), and the two
//! host imports. All integers are little-endian u32.
//!
//!   request:  method, uri, header count, (name, value) per header, then the body (the rest);
//!             each string is a u32 length followed by its bytes
//!   response: status, header count, (name, value) per header, then the body (the rest)

use anyhow::{anyhow, bail};

use crate::http::{Request, Response};
use crate::Result;

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "sscc")]
extern "C" {
    /// Runs the request; the response's length, or `-(message length) - 1` when it failed.
    #[link_name = "http_request"]
    fn host_http_request(req_ptr: u32, req_len: u32) -> i32;
    /// Copies the pending response (or failure message) to `dst_ptr`.
    #[link_name = "http_response"]
    fn host_http_response(dst_ptr: u32);
}

pub(crate) fn send<T: AsRef<[u8]>>(request: &Request<T>) -> Result<Response<Vec<u8>>> {
    let uri = request.uri().to_string();
    if request.uri().scheme().is_none() || request.uri().host().is_none() {
        bail!("http request to `{}`: the URI needs a scheme and a host (http://host/...)", uri);
    }
    let mut out = Vec::with_capacity(64 + uri.len() + request.body().as_ref().len());
    put(&mut out, request.method().as_str().as_bytes());
    put(&mut out, uri.as_bytes());
    out.extend_from_slice(&(request.headers().len() as u32).to_le_bytes());
    for (name, value) in request.headers() {
        put(&mut out, name.as_str().as_bytes());
        put(&mut out, value.as_bytes());
    }
    out.extend_from_slice(request.body().as_ref());
    let answer = call_host(&out)?;
    decode_response(&answer)
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(target_arch = "wasm32")]
fn call_host(request: &[u8]) -> Result<Vec<u8>> {
    let n = unsafe { host_http_request(request.as_ptr() as u32, request.len() as u32) };
    let failed = n < 0;
    let len = if failed { (-(n as i64) - 1) as usize } else { n as usize };
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    unsafe {
        host_http_response(buf.as_mut_ptr() as u32);
        buf.set_len(len);
    }
    if failed {
        return Err(anyhow!(String::from_utf8_lossy(&buf).into_owned()));
    }
    Ok(buf)
}

#[cfg(not(target_arch = "wasm32"))]
fn call_host(_request: &[u8]) -> Result<Vec<u8>> {
    Err(anyhow!("sdf-http: HTTP requests run only inside the sscc runtime (wasm32)"))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32> {
        let end = self.pos + 4;
        if end > self.data.len() {
            bail!("malformed response from the host");
        }
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(u32::from_le_bytes(b))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        let end = self.pos + len;
        if end > self.data.len() {
            bail!("malformed response from the host");
        }
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }
}

fn decode_response(data: &[u8]) -> Result<Response<Vec<u8>>> {
    let mut r = Reader { data, pos: 0 };
    let status = r.u32()?;
    let mut builder = Response::builder().status(status as u16);
    for _ in 0..r.u32()? {
        let name = r.bytes()?;
        let value = r.bytes()?;
        builder = builder.header(name, value);
    }
    Ok(builder.body(data[r.pos..].to_vec())?)
}
