"""black's output is cached, so an unchanged recompile does not pay for importing black."""

import os
import subprocess
import sys

import black
from sscc.backend.project import render

UGLY = "def f( a,b ):\n  return {'a':a,'b':b}\n"


def _formatted_in_fresh_process(cache: str) -> tuple[str, bool]:
    code = (
        "import sys\n"
        "from sscc.backend.project.render import formatted\n"
        f"out = formatted({UGLY!r})\n"
        "print(repr(out)); print('black' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SSCC_CACHE_DIR": cache}, capture_output=True, text=True, check=True)
    text, imported = proc.stdout.strip().splitlines()
    return eval(text), imported == "True"


def test_a_cached_format_equals_black_and_skips_importing_it(tmp_path):
    expected = black.format_str(UGLY, mode=black.Mode())
    first, imported_first = _formatted_in_fresh_process(str(tmp_path))
    second, imported_second = _formatted_in_fresh_process(str(tmp_path))
    assert first == second == expected
    assert imported_first and not imported_second


def test_an_unwritable_cache_still_formats(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SSCC_CACHE_DIR", str(blocker))
    assert render.formatted(UGLY) == black.format_str(UGLY, mode=black.Mode())
