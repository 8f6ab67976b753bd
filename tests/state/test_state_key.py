"""`key()` and `window()` in user code, with window `transforms` and partition `transforms`
(tests/state/key_window_partition.yaml): update-state asserts that `key()` is the record's key
(a panic would dead-letter the record), the flush reports `window()` and the window's rows
through `sql()`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, remove_run_cache, sscc  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "state" / "key_window_partition.yaml"


def test_key_and_window_are_the_records_own_through_both_transform_lists(tmp_path):
    need_toolchain()
    pipeline = tmp_path / "pipeline.yaml"
    shutil.copy(PIPELINE, pipeline)
    store = str(tmp_path / "store")
    try:
        words = "1000:the\n1000:apple\n2000:ant\n3000:bee\n12000:bat\n12000:the\n"
        sscc("topic", "produce", "words", "--store", store, "--timestamp-separator", ":", input=words, check=True)
        sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)
        out = sscc("topic", "consume", "out", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
        # `the` is filtered by the window transform; the partition transform upper-cases after
        # assign-key (keys stay lower-case: `a`, `b`); chars count the upper-cased word.
        assert out.splitlines() == ["[0,10000) a=2/8 b=1/3", "[10000,20000) b=1/3"]
        dead = sscc("topic", "consume", "counter.dead-letters", "--store", store, "--from-beginning", "--until-idle", check=True)
        assert dead.stdout == "", "key() disagreed with the record's key"
    finally:
        remove_run_cache(pipeline)
