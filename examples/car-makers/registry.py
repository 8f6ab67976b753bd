#!/usr/bin/env python3
"""A tiny maker registry for examples/car-makers: GET /api/maker/<name> on 127.0.0.1.

    200  {"maker", "country", "continent"} for a maker it knows
    404  for one it does not
    500  for `Glitch` (a registry that fails on some requests)

    python3 registry.py [--port N] [--port-file FILE]

`--port 0` (the default) takes a free port; the port is printed and, with --port-file, written
to FILE once the registry listens. Stops on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import sys
import urllib.parse

MAKERS = {
    "Honda": ("Japan", "Asia"),
    "Toyota": ("Japan", "Asia"),
    "Ford": ("USA", "North America"),
    "Tesla": ("USA", "North America"),
    "Volkswagen": ("Germany", "Europe"),
    "Alfa Romeo": ("Italy", "Europe"),
}


class Registry(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        prefix = "/api/maker/"
        name = urllib.parse.unquote(self.path[len(prefix):]) if self.path.startswith(prefix) else None
        if name == "Glitch":
            self._send(500, b"registry failure")
        elif name in MAKERS:
            country, continent = MAKERS[name]
            self._send(200, json.dumps({"maker": name, "country": country, "continent": continent}).encode())
        else:
            self._send(404, b"unknown maker")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--port-file", help="write the port here once listening")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Registry)
    port = server.server_address[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"registry listening on http://127.0.0.1:{port}", flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as fh:
            fh.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)  # readers never see half a file
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
