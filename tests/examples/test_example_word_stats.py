"""examples/word-stats: windows and state, which sscc does not compile yet (docs/runtime.md §6);
the example is checked and lowered, and `sscc run` refuses it with a diagnostic, not a crash.
When stateful services land, the last test becomes a real run with expected output."""

import subprocess

from example_cli import Example, sscc

EXAMPLE = Example("word-stats")


def test_checks_clean_and_lowers_to_two_services():
    sscc("check", "--strict", str(EXAMPLE.file))
    text = sscc("ir", str(EXAMPLE.file))
    assert "Service liked-posts" in text and "Service word-counter" in text


def test_run_refuses_the_stateful_service_with_a_diagnostic(tmp_path):
    proc = subprocess.run(
        ["sscc", "run", str(EXAMPLE.file), "--store", str(tmp_path / "store"), "--until-idle"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "error[E220]" in proc.stderr and "word-counter" in proc.stderr
    assert "Traceback" not in proc.stderr
