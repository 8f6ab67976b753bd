"""Assemble docs/errors.md from the per-area fragments in docs/errors.d/ (run after editing one)."""

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ["load", "schema", "syntax", "upgrade", "check", "packages", "backend_rust", "compile", "pipetest"]

HEADER = """# sscc diagnostics

Every diagnostic sscc prints has a stable code: `E…` for errors (exit code 1), `W…` for warnings
(`--strict` turns them into errors). Each entry shows an example that triggers it, the message,
and the fix. Generated from `docs/errors.d/*.md` by `python3 scripts/errors_doc.py`.
"""


def build() -> str:
    frags = {os.path.basename(p)[:-3]: p for p in glob.glob(os.path.join(ROOT, "docs", "errors.d", "*.md"))}
    frags.pop("README", None)
    names = [n for n in ORDER if n in frags] + sorted(n for n in frags if n not in ORDER)
    parts = [HEADER]
    for n in names:
        with open(frags[n]) as fh:
            parts.append(fh.read().strip() + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    with open(os.path.join(ROOT, "docs", "errors.md"), "w") as fh:
        fh.write(build())
