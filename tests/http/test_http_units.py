"""The pieces of HTTP from operators that need no toolchain: the policy, the wire format, and
which sdf-http API level a dependency gets (docs/http.md)."""

from __future__ import annotations

import struct

import pytest

from sscc.backend.rust import http_crate
from sscc.ir.nodes import Dependency
from sscc.runtime_stub.sscc_runtime import http_client as hc


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8443", ("example.com", 8443)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:9000", ("::1", 9000)),
        ("::1", ("::1", None)),
    ],
)
def test_allow_entries(entry, expected):
    assert hc.split_host_port(entry) == expected


@pytest.mark.parametrize("entry", ["host:port", ":80", "[::1]:x"])
def test_bad_allow_entries(entry):
    with pytest.raises(ValueError):
        hc.split_host_port(entry)


def test_policy():
    everyone = hc.HttpPolicy()
    everyone.check("https", "api.example.com", 443)  # the default allows every host
    some = hc.HttpPolicy(allow=("api.example.com", "127.0.0.1:8080"))
    some.check("https", "api.example.com", 443)
    some.check("http", "api.example.com", 8000)  # a host without a port: any port
    some.check("http", "127.0.0.1", 8080)
    for host, port in (("127.0.0.1", 8081), ("evil.example.com", 443)):
        with pytest.raises(hc.HttpFailure, match="not allowed by --http-allow"):
            some.check("http", host, port)
    with pytest.raises(hc.HttpFailure, match="--no-http"):
        hc.HttpPolicy(enabled=False).check("https", "api.example.com", 443)


def _put(b: bytes) -> bytes:
    return struct.pack("<I", len(b)) + b


def test_wire_request_and_response():
    data = _put(b"POST") + _put(b"http://h/x") + struct.pack("<I", 1) + _put(b"a") + _put(b"b") + b"BODY"
    req = hc.decode_request(data)
    assert (req.method, req.url, req.headers, req.body) == ("POST", "http://h/x", (("a", b"b"),), b"BODY")
    with pytest.raises(ValueError):
        hc.decode_request(data[:9])
    out = hc.encode_response(404, [("k", "v")], b"gone")
    assert out == struct.pack("<II", 404, 1) + _put(b"k") + _put(b"v") + b"gone"


def test_failures_name_the_request_without_secrets():
    client = hc.HttpClient(hc.HttpPolicy(enabled=False))
    data = _put(b"GET") + _put(b"https://user:pw@api.example.com/v1?key=SECRET") + struct.pack("<I", 0)
    with pytest.raises(hc.HttpFailure) as failure:
        client.send(data)
    text = str(failure.value)
    assert text.startswith("http request GET https://api.example.com/v1 failed: ")
    assert "SECRET" not in text and "pw" not in text


@pytest.mark.parametrize(
    "dep, feature",
    [
        (Dependency("sdf-http", version="0.4.2"), "v0_4_2"),
        (Dependency("sdf-http", version="0.4.3"), "v0_4_3"),
        (Dependency("sdf-http", version="0.4.1"), "v0_4_1"),
        (Dependency("sdf-http", version="0.4"), "v0_4_3"),  # the newest 0.4.x, as cargo picks
        (Dependency("sdf-http", git="https://github.com/infinyon/sdf-http-guest", tag="v0.4.0"), None),
        (Dependency("ssdk-http", git="https://github.com/infinyon/ssdk-guest-http", tag="v0.3.0"), None),
        (Dependency("sdf-http", path="../sdf-http"), "v0_4_3"),
        (Dependency("sdf-http", git="https://github.com/infinyon/sdf-http-guest"), "v0_4_3"),
    ],
)
def test_api_level_follows_the_version_named(dep, feature):
    assert http_crate.feature(dep) == feature


def test_dependency_lines():
    assert http_crate.dep_line(Dependency("sdf-http", version="0.4.2")) == 'sdf-http = { path = "sdf-http", features = ["v0_4_2"] }'
    assert (
        http_crate.dep_line(Dependency("ssdk-http", tag="v0.3.0"))
        == 'ssdk-http = { path = "sdf-http", package = "sdf-http" }'
    )


def test_generated_crates_get_sscc_sdf_http_at_the_named_level():
    """tests/http/probe.yaml: `version: "0.4.2"`, `tag: "v0.4.3"` and `tag: "v0.4.0"`."""
    import os

    from sscc import driver
    from sscc.backend.rust import generate_crate
    from sscc.backend.stages import plan

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.yaml")
    fe = driver.front_end(path, driver.Options(mode="compile"))
    assert not fe.diags.has_errors
    ir = driver.optimized_ir(fe, driver.Options())
    crates = {p.name: generate_crate(ir, p, path) for p in plan(ir)}
    lines = {
        name: next(line for line in crate.files["Cargo.toml"].splitlines() if line.startswith("sdf-http"))
        for name, crate in crates.items()
    }
    assert lines == {
        "probe": 'sdf-http = { path = "sdf-http", features = ["v0_4_2"] }',
        "post": 'sdf-http = { path = "sdf-http", features = ["v0_4_3"] }',
        "echo": 'sdf-http = { path = "sdf-http" }',
    }
    for crate in crates.values():  # the crate itself travels inside, never fetched
        assert "sdf-http/Cargo.toml" in crate.files and "sdf-http/src/wire.rs" in crate.files
        assert "git" not in crate.files["Cargo.toml"]


def _request(method: str, url: str, headers=(), body: bytes = b"") -> bytes:
    out = _put(method.encode()) + _put(url.encode()) + struct.pack("<I", len(headers))
    for name, value in headers:
        out += _put(name.encode()) + _put(value.encode())
    return out + body


def _status_and_body(encoded: bytes) -> tuple[int, bytes]:
    status, count = struct.unpack_from("<II", encoded)
    pos = 8
    for _ in range(2 * count):
        (n,) = struct.unpack_from("<I", encoded, pos)
        pos += 4 + n
    return status, encoded[pos:]


def test_redirects_are_checked_against_the_policy_and_limited():
    """Against a real local server: a redirect to a host the policy does not allow fails; one to
    an allowed other host drops the Authorization header; a redirect loop stops after 5."""
    import json
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from local_server import LocalServer

    with LocalServer() as server:
        only_ip = hc.HttpClient(hc.HttpPolicy(allow=(f"127.0.0.1:{server.port}",), timeout_s=5))
        with pytest.raises(hc.HttpFailure, match=f"host localhost:{server.port} is not allowed"):
            only_ip.send(_request("GET", f"{server.base}/away"))
        both = hc.HttpClient(hc.HttpPolicy(allow=("127.0.0.1", "localhost"), timeout_s=5))
        status, body = _status_and_body(both.send(_request("GET", f"{server.base}/away", [("Authorization", "Bearer x")])))
        assert status == 200 and json.loads(body)["authorization"] is None
        status, body = _status_and_body(both.send(_request("GET", f"{server.base}/redirect", [("Authorization", "Bearer x")])))
        assert status == 200 and json.loads(body)["authorization"] == "Bearer x"  # same host: kept
        before = len(server.seen)
        with pytest.raises(hc.HttpFailure, match="more than 5 redirects"):
            both.send(_request("GET", f"{server.base}/loop"))
        assert len(server.seen) - before == 6


def test_tls_is_verified(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: the request fails with a TLS
    error instead of trusting it."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.handle_error = lambda *a: None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = hc.HttpClient(hc.HttpPolicy(timeout_s=5))
        with pytest.raises(hc.HttpFailure, match="TLS error: .*certificate verify failed"):
            client.send(_request("GET", f"https://127.0.0.1:{server.server_address[1]}/"))
    finally:
        server.shutdown()
        server.server_close()
