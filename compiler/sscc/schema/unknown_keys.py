"""Warn about keys the format does not know.

The reference parser ignores unknown keys silently, so a typo (`conumser:`) quietly drops a
setting. We warn instead, once per key, by walking the data alongside the schema: at each
mapping the applicable schemas list the known keys. Mappings whose keys are user-chosen names
(types, topics, services, states, `with:`, `properties:`) are free-form and never warned about.
The schemas themselves stay open (no `additionalProperties: false`), so an unknown key is
never also a schema error.

  W001 unknown key                         (did you mean ...?)
  W010 key that a later apiVersion added   (`with:` in a 0.5.0 file)
  W011 key that the `type:` tag makes moot (`items:` next to `type: object`)
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostics, did_you_mean, suggest
from ..load.yaml_loader import Document
from .navigate import View, view, where


def check_unknown_keys(doc: Document, root: dict, api_version: str, diags: Diagnostics) -> None:
    _Walk(doc, root, api_version, diags).node(doc.data, [root], ())


class _Walk:
    def __init__(self, doc: Document, root: dict, api_version: str, diags: Diagnostics) -> None:
        self.doc, self.root, self.api_version, self.diags = doc, root, api_version, diags

    def node(self, node: Any, schemas: list, path: tuple) -> None:
        if not schemas or not isinstance(node, (dict, list)):
            return
        here = view(self.root, schemas, node)
        if isinstance(node, list):
            items = here.child(0)
            for index, item in enumerate(node):
                self.node(item, items, path + (index,))
            return
        known = here.known_keys
        closed = known and not here.free_form
        for key, value in node.items():
            if closed and key not in known:
                self.warn(here, node, key, path)
            if isinstance(value, (dict, list)):
                self.node(value, here.child(key), path + (key,))

    def warn(self, here: View, node: dict, key: str, path: tuple) -> None:
        span = self.doc.key_span(path + (key,))
        later = here.annotation("x-later-keys")
        if key in later:
            self.diags.warning(
                "W010",
                span,
                f"`{key}` needs apiVersion {later[key]} or later; this file is {self.api_version}",
                f"change the file to `apiVersion: {later[key]}`, or remove `{key}` (it is ignored otherwise)",
            )
            return
        tags = _tags_using(here, key)
        if tags and isinstance(node.get("type"), str):
            shown = ", ".join(f"`{t}`" for t in tags)
            close = suggest(node["type"], tags)
            self.diags.warning(
                "W011",
                span,
                f"`{key}` has no effect with `type: {node['type']}`",
                f"`{key}` is read only when `type` is {shown}" + (f"; did you mean `type: {close}`?" if close else ""),
            )
            return
        aliases = here.annotation("x-aliases")
        candidates = [k for k in here.known_keys if k not in aliases]
        below = [] if suggest(key, candidates) else _known_below(self.root, here, key)
        if below:
            hint = f"`{key}` is a key of " + " or ".join(f"`{'.'.join(p)}`" for p in below) + "; move it there"
        elif suggest(key, candidates):
            hint = did_you_mean(key, candidates)
        else:
            hint = "known keys here: " + ", ".join(f"`{k}`" for k in sorted(candidates))
        self.diags.warning("W001", span, f"unknown key `{key}` {where(here.title, path)}", hint)


def _known_below(root: dict, here: View, key: str, depth: int = 2) -> list[tuple]:
    """Paths of the nearest mappings below this one that know `key` (a key written a level too high).

    Lists are not entered: "move it into every item" is rarely what was meant."""
    frontier = [((), here)]
    for _ in range(depth):
        found, deeper = [], []
        for prefix, at in frontier:
            for name in at.known_keys:
                below = view(root, at.child(name), None)
                if key in below.known_keys:
                    found.append(prefix + (name,))
                deeper.append((prefix + (name,), below))
        if found:
            return found
        frontier = deeper
    return []


def _tags_using(here: View, key: str) -> list[str]:
    """The `type:` tags of unselected branches that know `key`."""
    tags: list[str] = []
    for condition, then in here.unselected:
        for branch_tags, keys in _branch_keys(condition, then):
            if key in keys:
                tags += [t for t in branch_tags if t not in tags]
    return tags


def _branch_keys(condition: dict, then: dict):
    """(tags, keys) of a `then` branch and of the conditional branches nested in it."""
    tags = condition.get("properties", {}).get("type", {}).get("enum", [])
    yield tags, then.get("properties", {})
    for sub in then.get("allOf", ()):
        if "if" in sub and "then" in sub:
            yield from _branch_keys(sub["if"], sub["then"])
