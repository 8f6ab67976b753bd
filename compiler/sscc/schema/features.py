"""Which format features each apiVersion has.

The schemas are built from one set of parts; this table is the only place that says where
versions differ, so a reader can see the whole version skew at a glance (SDF-FORMAT.md §1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

# feature -> (first version that has it, last version that has it or None)
FEATURES = {
    "states-list": ("0.4.0", "0.4.0"),  # service states as a list of `- name:` items
    "update-state-step": ("0.4.0", "0.4.0"),  # `operator: update-state` inside partition.transforms
    "packages": ("0.5.0", None),  # inline package bodies under a dataflow's `packages:`
    "schedule": ("0.6.0", None),  # top-level `schedule:` and `type: schedule` sources
    "with": ("0.6.0", None),  # `with:` parameters of an imported function
    "ttl": ("0.6.0", None),  # `ttl:` of an arrow-row state value
}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Version:
    """One apiVersion, asked by the schema parts whether it has a feature."""

    name: str

    def has(self, feature: str) -> bool:
        first, last = FEATURES[feature]
        return _key(first) <= _key(self.name) and (last is None or _key(self.name) <= _key(last))

    def later(self, feature: str) -> dict[str, str]:
        """{feature: version} when a later version has the feature and this one lacks it.

        Used for the features named after what a file writes (`with`, `ttl`, `schedule`, ...),
        so the result serves as `x-later-keys` / `x-later-values` of the schema."""
        first, _ = FEATURES[feature]
        return {feature: first} if _key(self.name) < _key(first) else {}
