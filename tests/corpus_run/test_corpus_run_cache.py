"""`sscc run`'s project cache must notice an edited guest glue crate.

Regression: the stamp hashed the compiler, the templates and runtime_stub/sscc_runtime but not
runtime_stub/guest, so after a fix in the guest (the raw converter) `sscc run` kept running the
wasm modules built from the old guest.
"""

import os

from conftest import ROOT
from sscc.backend.project import cache


def test_the_guest_crate_is_part_of_the_project_hash():
    hashed = {os.path.realpath(p) for _, p in cache.hashed_sources()}
    guest = os.path.join(ROOT, "runtime_stub", "guest")
    for rel in ("Cargo.toml", "src/lib.rs", "src/raw.rs", "src/json.rs"):
        assert os.path.realpath(os.path.join(guest, rel)) in hashed, rel
    runtime = os.path.join(ROOT, "runtime_stub", "sscc_runtime", "app.py")
    assert os.path.realpath(runtime) in hashed
    assert not any("__pycache__" in p or "/target/" in p for p in hashed)
