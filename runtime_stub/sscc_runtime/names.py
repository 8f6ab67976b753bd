"""How a service is named in a store shared by several pipelines (docs/upgrade.md, "Stores").

The one naming function: a compiled pipeline's service is `<namespace>.<pipeline>.<service>`
(meta.namespace, meta.name, the service's name) in the store: its consumer positions, its state
rows, and the topics it owns (`<key>.dead-letters`, `<key>.<state>.changelog`,
`<key>.schedule.<event>`, and what any backend derives from the service name) carry that key, so
two pipelines with a service of the same name never share them. A hand-written service
description (tests, `python -m sscc_runtime`) names its services as it likes; a name without
`/` is used as it is. Imported by the compiler (describe.py) and the runtime alike: standard
library only.
"""

from __future__ import annotations

SEPARATOR = "."  # topic names too: Kafka allows only [a-zA-Z0-9._-]
# Topics a service owns, after its key: what a store written before namespacing holds under the
# bare service name (store.Store.adopt renames them).
OWNED_SUFFIXES = (".dead-letters", ".changelog")
OWNED_INFIXES = (".schedule.",)


def service_key(namespace: str, pipeline: str, service: str) -> str:
    """The service's name in the store."""
    return SEPARATOR.join(part for part in (namespace, pipeline, service) if part)


def title(key: str) -> str:
    """The service's own name (what the pipeline file calls it): the key's last part."""
    return key.rsplit(SEPARATOR, 1)[-1]


def matches(key: str, name: str) -> bool:
    """Whether a user's `name` means the service `key`: the key itself or its last part."""
    return name == key or name == title(key)
