"""A real HTTP server on 127.0.0.1 for the HTTP tests, run in a thread of the test process.

    /ok/...           200, JSON of what arrived: method, path, authorization, content-type, body
    /missing          404 with a text body
    /boom             500 with a text body
    /slow?ms=N        waits N ms, then 200 `slow`
    /big?bytes=N      200 with N bytes of `x`
    /redirect         302 to /ok/redirected
    /away             302 to http://localhost:PORT/ok/away (the same server under another name)
    /loop             302 to /loop
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.server.seen.append((self.command, self.path))  # type: ignore[attr-defined]
        if url.path.startswith("/ok"):
            seen = {
                "method": self.command,
                "path": url.path,
                "authorization": self.headers.get("authorization"),
                "content_type": self.headers.get("content-type"),
                "body": body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(seen, sort_keys=True).encode())
        elif url.path == "/missing":
            self._send(404, b"no such maker")
        elif url.path == "/boom":
            self._send(500, b"the service broke")
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000)
            self._send(200, b"slow")
        elif url.path == "/big":
            self._send(200, b"x" * int(query.get("bytes", "100000")))
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path in ("/away", "/loop"):
            port = self.server.server_address[1]
            where = f"http://localhost:{port}/ok/away" if url.path == "/away" else "/loop"
            self.send_response(302)
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(400, b"unknown path")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (size cap, timeout)
            pass

    do_GET = do_POST = do_PUT = _answer


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that hung up: not news
        pass


class LocalServer:
    """`with LocalServer() as server:` serves on `server.base` (http://127.0.0.1:PORT)."""

    def __enter__(self) -> "LocalServer":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def seen(self) -> list[tuple[str, str]]:
        """(method, path) of every request the server got."""
        return list(self._server.seen)  # type: ignore[attr-defined]

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
