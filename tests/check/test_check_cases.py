"""Each check rule fires on its broken pipeline in tests/check/cases/: code, line, column, hint.

A case file starts with `# <CODE>: what is wrong`, then one `# expect: <CODE> <line>:<col> <hint>`
line per diagnostic the checker must report (the hint text must appear in the diagnostic's hint),
and optionally `# package: <pkg id> = <file>` lines for the packages it imports. The case must
report exactly those diagnostics: one mistake, one diagnostic, no cascade.
"""

import glob
import os
import re

import pytest

from check_helpers import CASES, CHECK_CODE, ROOT, check_case

FILES = sorted(glob.glob(os.path.join(CASES, "*.yaml")))
EXPECT = re.compile(r"^# expect: ([EW]\d{3}) (\d+):(\d+) (.+)$", re.M)


def _show(diags):
    return "\n".join(f"  {d.code} {d.span.line}:{d.span.col} {d.message} | hint: {d.hint}" for d in diags)


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f)[:-5] for f in FILES])
def test_case(path):
    _checked, diags, text = check_case(path)
    expected = [(c, int(ln), int(col), hint) for c, ln, col, hint in EXPECT.findall(text)]
    assert expected, "a case file needs `# expect:` lines"
    assert os.path.basename(path)[:4] in {c for c, *_ in expected}, "the case must trigger the code it is named for"
    others = [d for d in diags.items if not CHECK_CODE.match(d.code)]
    assert not others, "the case must be valid apart from its checker mistake:\n" + _show(others)
    got = sorted((d for d in diags.items), key=lambda d: (d.span.line, d.span.col))
    assert len(got) == len(expected), "expected exactly:\n" + "\n".join(map(str, expected)) + "\ngot:\n" + _show(got)
    for code, line, col, hint in expected:
        match = [d for d in got if (d.code, d.span.line, d.span.col) == (code, line, col)]
        assert match, f"no {code} at {line}:{col}; got:\n" + _show(got)
        assert hint in (match[0].hint or ""), f"{code} hint {match[0].hint!r} does not say {hint!r}"
        assert match[0].is_error == code.startswith("E")


def test_catalogue_covers_every_check_code():
    """Every code the checker can emit has a case (and so a test that triggers it)."""
    root = os.path.join(ROOT, "compiler", "sscc", "check")
    emitted = set()
    for src in glob.glob(os.path.join(root, "*.py")):
        with open(src) as fh:
            emitted |= {c for c in re.findall(r"""["']([EW]\d{3})["']""", fh.read()) if CHECK_CODE.match(c)}
    cased = {os.path.basename(f)[:4] for f in FILES}
    assert emitted - cased == set(), f"codes without a case: {sorted(emitted - cased)}"
    assert len(cased) >= 25


def test_errors_doc_is_generated_from_the_cases():
    """docs/errors.d/check.md documents every check code, and is what the cases render today."""
    import check_errors_doc

    with open(check_errors_doc.DOC) as fh:
        assert fh.read() == check_errors_doc.build_doc(), "run `python3 tests/check/check_errors_doc.py > docs/errors.d/check.md`"


DRIVEN = [f for f in FILES if "# package:" not in open(f).read()]


@pytest.mark.parametrize("path", DRIVEN, ids=[os.path.basename(f)[:-5] for f in DRIVEN])
def test_case_through_the_driver_reports_each_mistake_once(path):
    """Through `sscc check` (schema stage included) a case still gives one diagnostic per mistake:
    what the JSON Schema already reports (E010-E029), the checker does not repeat."""
    from sscc.diagnostics import SourceCache
    from sscc.driver import Options, front_end

    with open(path) as fh:
        expected = EXPECT.findall(fh.read())
    fe = front_end(path, Options(), SourceCache())
    got = [d for d in fe.diags.sorted() if d.code != "W100"]  # a package not found: the driver's note
    assert len(got) == len(expected), _show(got)
