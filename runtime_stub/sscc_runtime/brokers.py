"""`--broker URL` / $SSCC_BROKER: which distributed log a command runs on (docs/backends.md).

Maps a URL scheme to a backend factory. A factory's module (and its client library) is imported
only when its scheme is used, so a run on the embedded store never pays for it (docs/startup.md).
No URL = the embedded store (store.py), chosen by the caller.
"""

from __future__ import annotations

import importlib
import os
from typing import Callable

ENV = "SSCC_BROKER"

# scheme -> "module:function"; the function takes a BrokerURL and returns a TopicBackend.
FACTORIES: dict[str, str] = {
    "nats": "nats_backend:open_backend",
}
# scheme -> the pip package its module needs, named when it is missing
CLIENTS: dict[str, str] = {
    "nats": "nats-py",
}


class BrokerError(ValueError):
    """A broker URL that names no backend or cannot be parsed."""


class BrokerURL:
    """`scheme://HOST:PORT[,HOST:PORT...][?key=value&...]`: the servers and the options."""

    def __init__(self, text: str):
        from urllib.parse import parse_qsl, urlsplit  # only with a broker: start-up

        self.text = text
        scheme, sep, rest = text.partition("://")
        if not sep or not scheme:
            raise BrokerError(f"broker {text!r}: expected SCHEME://HOST:PORT (e.g. nats://127.0.0.1:4222)")
        self.scheme = scheme.lower()
        parts = urlsplit(f"x://{rest}")
        self.servers = [s.strip() for s in parts.netloc.split(",") if s.strip()]
        if not self.servers:
            raise BrokerError(f"broker {text!r}: no HOST:PORT")
        self.options = dict(parse_qsl(parts.query, keep_blank_values=True))

    def __repr__(self) -> str:
        return self.text


def chosen(arg: str | None) -> str | None:
    """The broker URL of a command: `--broker`, else $SSCC_BROKER, else None (embedded store)."""
    return arg or os.environ.get(ENV) or None


def open_broker(url: str):
    """The backend for `url`, connected."""
    parsed = BrokerURL(url)
    target = FACTORIES.get(parsed.scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(FACTORIES))
        raise BrokerError(f"broker {url!r}: unknown scheme {parsed.scheme!r} (known: {known})")
    module, _, function = target.partition(":")
    try:
        loaded = importlib.import_module(f".{module}", __package__)
    except ImportError as exc:
        client = CLIENTS.get(parsed.scheme, exc.name)
        raise BrokerError(f"broker {url!r} needs the Python package {client}: pip install {client}") from None
    factory: Callable = getattr(loaded, function)
    return factory(parsed)
