"""HTTP from operators: the host side of sscc's `sdf-http` crate (docs/http.md).

A guest's `sdf_http::blocking::send` / `get` / `json(..).post(..)` reaches the host import
`sscc.http_request` (wasm_host.py) with the request encoded as in runtime_stub/sdf-http/src/wire.rs;
`HttpClient.send` runs it with urllib3 and returns the encoded response, or raises `HttpFailure`
with the reason the operator gets as its `Err` (and the record's dead letter shows).

What it enforces: the policy (`--no-http`, `--http-allow HOST[:PORT]`, checked on every redirect
hop too), TLS verification (urllib3's default), at most MAX_REDIRECTS redirects, a per-request
timeout over the whole exchange (connect, each read and the body as a whole), and a cap on the
response body. An HTTP error status (404, 500) is a response like any other, not a failure.
"""

from __future__ import annotations

import struct
import time
from .records import record as dataclass

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 16 << 20
MAX_REDIRECTS = 5
_U32 = struct.Struct("<I")
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpFailure(Exception):
    """A request that got no response: policy, bad URL, DNS, refused, timeout, TLS, too large."""


@dataclass(frozen=True)
class HttpPolicy:
    """Which requests operators may make, and the limits each one runs under."""

    enabled: bool = True  # False: `--no-http`
    allow: tuple[str, ...] = ()  # `--http-allow` entries, HOST or HOST:PORT; () = every host
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES

    def check(self, scheme: str, host: str, port: int) -> None:
        """Raise HttpFailure unless a request to host:port is allowed."""
        if not self.enabled:
            raise HttpFailure("HTTP is disabled for this run (--no-http)")
        if not self.allow:
            return
        for entry in self.allow:
            want_host, want_port = split_host_port(entry)
            if want_host == host and want_port in (None, port):
                return
        allowed = ", ".join(self.allow)
        raise HttpFailure(f"host {host}:{port} is not allowed by --http-allow (allowed: {allowed})")


def split_host_port(entry: str) -> tuple[str, int | None]:
    """`example.com` -> ("example.com", None); `127.0.0.1:8080`; `[::1]:8080` -> ("::1", 8080)."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:  # a bare host, or a bare IPv6 address
        host, port = entry, ""
    if port and not port.isdigit():
        raise ValueError(f"bad port in {entry!r}: expected HOST or HOST:PORT")
    if not host:
        raise ValueError(f"no host in {entry!r}: expected HOST or HOST:PORT")
    return host, int(port) if port else None


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: tuple[tuple[str, bytes], ...]
    body: bytes


def decode_request(data: bytes) -> Request:
    """The guest's encoded request (sdf-http wire.rs); ValueError when malformed."""
    pos = 0

    def u32() -> int:
        nonlocal pos
        if pos + 4 > len(data):
            raise ValueError("malformed request from the guest")
        (n,) = _U32.unpack_from(data, pos)
        pos += 4
        return n

    def chunk() -> bytes:
        nonlocal pos
        n = u32()
        if pos + n > len(data):
            raise ValueError("malformed request from the guest")
        pos += n
        return data[pos - n : pos]

    method = chunk().decode("ascii", "replace")
    url = chunk().decode("utf-8", "replace")
    headers = tuple((chunk().decode("latin-1"), chunk()) for _ in range(u32()))
    return Request(method, url, headers, data[pos:])


def encode_response(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    parts = [_U32.pack(status), _U32.pack(len(headers))]
    for name, value in headers:
        for text in (name.encode("latin-1", "replace"), value.encode("latin-1", "replace")):
            parts += [_U32.pack(len(text)), text]
    parts.append(body)
    return b"".join(parts)


class HttpClient:
    """Runs the requests of one run's operators under one policy; one connection pool."""

    def __init__(self, policy: HttpPolicy = HttpPolicy()):
        self.policy = policy
        self._pool = None  # urllib3 is imported on the first request only

    def send(self, data: bytes) -> bytes:
        """The encoded response to the encoded request; raises HttpFailure with the reason."""
        try:
            request = decode_request(data)
        except ValueError as exc:
            raise HttpFailure(str(exc)) from None
        where = f"{request.method} {_redact(request.url)}"
        try:
            status, headers, body = self._exchange(request)
        except HttpFailure as exc:
            raise HttpFailure(f"http request {where} failed: {exc}") from None
        return encode_response(status, headers, body)

    def _exchange(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        import urllib3

        if self._pool is None:
            # retries=False: one attempt, and urllib3 raises the underlying error itself.
            self._pool = urllib3.PoolManager(num_pools=32, retries=False)
        deadline = time.monotonic() + self.policy.timeout_s
        method, url, headers, body = request.method, request.url, list(request.headers), request.body
        for _hop in range(MAX_REDIRECTS + 1):
            scheme, host, port = self._target(url)
            self.policy.check(scheme, host, port)
            response = self._open(method, url, headers, body, deadline, host)
            if response.status not in _REDIRECTS or not response.headers.get("location"):
                return response.status, _headers(response), self._read(response, deadline)
            response.drain_conn()
            response.release_conn()
            url = urljoin(url, response.headers["location"])
            if response.status == 303 or (response.status in (301, 302) and method not in ("GET", "HEAD")):
                method, body = "GET", b""
                headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
            if self._target(url)[1:] != (host, port):  # credentials stay with the host they were meant for
                headers = [(k, v) for k, v in headers if k.lower() not in ("authorization", "cookie")]
        raise HttpFailure(f"more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _target(url: str) -> tuple[str, str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise HttpFailure(f"invalid URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise HttpFailure(f"unsupported URL scheme {scheme or '(none)'!r}: only http and https")
        if not parts.hostname:
            raise HttpFailure("the URL has no host")
        return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]

    def _open(self, method: str, url: str, headers: list, body: bytes, deadline: float, host: str):
        import urllib3
        from urllib3 import exceptions as E

        left = deadline - time.monotonic()
        if left <= 0:
            raise HttpFailure(f"timed out after {self.policy.timeout_s:g} s")
        try:
            return self._pool.request(
                method,
                url,
                body=body or None,
                headers=urllib3.HTTPHeaderDict(headers),
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=left, read=left),
            )
        # urllib3 2 makes NewConnectionError (and so NameResolutionError) a ConnectTimeoutError:
        # the specific classes go first.
        except E.NameResolutionError as exc:
            raise HttpFailure(f"cannot resolve host {host} (DNS lookup failed)") from None
        except E.NewConnectionError as exc:
            text = str(exc)
            reason = "connection refused" if "refused" in text.lower() else f"cannot connect: {_last(text)}"
            raise HttpFailure(reason) from None
        except (E.ConnectTimeoutError, E.ReadTimeoutError, TimeoutError):
            raise HttpFailure(f"timed out after {self.policy.timeout_s:g} s") from None
        except E.SSLError as exc:
            raise HttpFailure(f"TLS error: {_last(str(exc))}") from None
        except (E.LocationValueError, E.LocationParseError) as exc:
            raise HttpFailure(f"invalid URL: {exc}") from None
        except (E.HTTPError, OSError, ValueError) as exc:  # protocol errors, a reset connection ...
            raise HttpFailure(f"{type(exc).__name__}: {_last(str(exc))}") from None

    def _read(self, response, deadline: float) -> bytes:
        """The whole body, under the size cap and the request's deadline."""
        from urllib3 import exceptions as E

        cap = self.policy.max_bytes
        too_large = f"response body larger than {cap:,} bytes (--http-max-bytes)"
        try:
            declared = int(response.headers.get("content-length", "-1"))
        except ValueError:
            declared = -1
        done = False
        try:
            if declared > cap:
                raise HttpFailure(too_large)
            parts, size = [], 0
            for chunk in response.stream(64 * 1024):
                size += len(chunk)
                if size > cap:
                    raise HttpFailure(too_large)
                if time.monotonic() > deadline:
                    raise HttpFailure(f"timed out after {self.policy.timeout_s:g} s")
                parts.append(chunk)
            done = True
            return b"".join(parts)
        except (E.ReadTimeoutError, TimeoutError):
            raise HttpFailure(f"timed out after {self.policy.timeout_s:g} s") from None
        except (E.HTTPError, OSError) as exc:
            raise HttpFailure(f"reading the response failed: {_last(str(exc))}") from None
        finally:
            if not done:  # an unread rest: close the connection rather than reuse it
                response.close()
            response.release_conn()


def _headers(response) -> list[tuple[str, str]]:
    """The response's headers as the guest gets them. urllib3 decodes gzip/deflate bodies, so a
    Content-Encoding (and the Content-Length of the encoded body) would describe bytes the guest
    never sees: both are left out then."""
    items = list(response.headers.items())
    if any(k.lower() == "content-encoding" for k, _ in items):
        items = [(k, v) for k, v in items if k.lower() not in ("content-encoding", "content-length")]
    return items


def urlsplit(url: str):
    """urllib.parse.urlsplit, imported on first use: importing urllib.parse (and socket, whose
    `socket.timeout` is TimeoutError anyway) cost every run's start-up a few ms; most make no request."""
    from urllib.parse import urlsplit as split

    return split(url)


def urljoin(base: str, url: str) -> str:
    from urllib.parse import urljoin as join

    return join(base, url)


def _last(text: str) -> str:
    """urllib3 nests reasons as `...: [Errno 111] Connection refused`; keep the last one."""
    return text.rsplit("): ", 1)[-1].strip() or text


def _redact(url: str) -> str:
    """The URL as dead letters show it: without user:password and without the query (API keys)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:200]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    from urllib.parse import urlunsplit

    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:200]
