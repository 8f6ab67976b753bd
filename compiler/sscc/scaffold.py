"""`sscc new NAME`: a pipeline project to start from (templates/new/*.j2).

NAME/ gets dataflow.yaml (orders in, big orders out: a filter and a map in inline Rust), a
sample input, dataflow.test.yaml (cases that pass, docs/testing.md), a Makefile that builds
with `sscc compile --depfile` and whose `make test` runs `sscc test`, a README and a .gitignore.
Nothing is written over: a NAME that exists and is not an empty directory is refused.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from pathlib import Path

# What meta.name can be so the package, the topics' namespace and the Make targets all work.
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FILES = {  # template -> file written
    "dataflow.yaml.j2": "dataflow.yaml",
    "dataflow.test.yaml.j2": "dataflow.test.yaml",
    "input/orders.txt.j2": "input/orders.txt",
    "Makefile.j2": "Makefile",
    "README.md.j2": "README.md",
    "gitignore.j2": ".gitignore",
}


class ScaffoldError(Exception):
    """A NAME or directory sscc new cannot use; one `error:` line."""


def create(target: str, namespace: str = "my-org") -> list[str]:
    """Write the project into `target` (its last part is the pipeline's name); the files written."""
    import jinja2

    from .backend.project.names import package_name

    name = os.path.basename(os.path.normpath(target))
    if not NAME.match(name):
        raise ScaffoldError(
            f"`{name}` cannot name a pipeline: use lowercase letters, digits and single dashes, starting with a letter (e.g. `order-alerts`)"
        )
    where = Path(target)
    if where.exists() and (not where.is_dir() or any(where.iterdir())):
        raise ScaffoldError(f"{target} exists and is not an empty directory; sscc new writes over nothing")
    root = importlib.resources.files("sscc.templates") / "new"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    context = {"name": name, "namespace": namespace, "package": package_name(name)}
    written = []
    for template, rel in FILES.items():
        text = env.from_string((root / template).read_text(encoding="utf-8")).render(**context)
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    return written
