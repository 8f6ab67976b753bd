"""`--broker URL` (or $SSCC_BROKER) to a topic backend; no URL = the embedded store.

Only the URL scheme picks the backend, and a backend's module (with its client library) is
imported only when its scheme is used: `sscc run` without a broker must not pay for
confluent_kafka (docs/startup.md). Client settings (SASL, TLS, timeouts) come as a properties
file (`--broker-config FILE`) and `-X key=value` pairs, `-X` last.
"""

from __future__ import annotations

import os

# scheme -> (module of this package, factory in it); a factory takes
# (servers: str, config: dict[str, str], app: str) and returns the backend.
FACTORIES: dict[str, tuple[str, str]] = {
    "kafka": ("kafka_backend", "open_backend"),
    "nats": ("nats_backend", "open_backend"),
}
# scheme -> the pip package its module needs, named when it is missing
CLIENTS: dict[str, str] = {"kafka": "confluent-kafka", "nats": "nats-py"}
ENV = "SSCC_BROKER"


class BrokerError(ValueError):
    """A broker URL or client setting the user can fix."""


def url_from(arg: str | None) -> str | None:
    """The broker URL of a command: `--broker`, else $SSCC_BROKER, else None (embedded store)."""
    return arg or os.environ.get(ENV) or None


def parse(url: str) -> tuple[str, str, dict[str, str]]:
    """(scheme, servers, settings from the query string) of `scheme://host:port[,host:port][?k=v]`."""
    from urllib.parse import parse_qsl, urlsplit  # only when a broker is used (start-up)

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in FACTORIES:
        known = ", ".join(f"{s}://" for s in sorted(FACTORIES))
        raise BrokerError(f"broker URL {url!r}: unknown scheme (known: {known})")
    servers = parts.netloc
    if not servers or "@" in servers:
        raise BrokerError(f"broker URL {url!r}: expected {scheme}://HOST:PORT[,HOST:PORT...] (credentials go in -X or --broker-config)")
    return scheme, servers, dict(parse_qsl(parts.query))


def read_properties(path: str) -> dict[str, str]:
    """A Java-style properties file: `key=value` (or `key: value`) lines, `#`/`!` comments."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise BrokerError(f"--broker-config {path}: {exc.strerror or exc}") from None
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise BrokerError(f"{path}:{number}: expected key=value, got {line[:60]!r}")
        out[key.strip()] = value.strip()
    return out


def settings(config_file: str | None, pairs: list[str] | None) -> dict[str, str]:
    """The client settings of `--broker-config FILE` then `-X key=value` (later wins)."""
    out = read_properties(config_file) if config_file else {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BrokerError(f"-X {pair!r}: expected key=value")
        out[key.strip()] = value
    return out


def open_broker(url: str, config: dict[str, str] | None = None, app: str = "sscc"):
    """The backend for `url`; `app` names consumer groups and transactional ids."""
    scheme, servers, query = parse(url)
    module, factory = FACTORIES[scheme]
    import importlib

    try:
        backend = importlib.import_module(f".{module}", __package__)
    except ImportError as exc:
        client = CLIENTS.get(scheme, exc.name)
        raise BrokerError(f"broker {url!r} needs the Python package {client}: pip install {client}") from None
    return getattr(backend, factory)(servers, {**query, **(config or {})}, app)
