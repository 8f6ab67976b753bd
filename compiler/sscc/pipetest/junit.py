"""`sscc test --junit FILE`: the results as JUnit XML (one <testsuite> per test file, one
<testcase> per case; a failed comparison is <failure>, a case that could not run <error>),
the shape CI servers (GitLab, Jenkins, GitHub test reporters) read. Written with xml.etree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass
class CaseResult:
    file: str
    name: str
    status: str  # "passed", "failed", "error"
    seconds: float = 0.0
    message: str = ""  # one line
    details: str = ""  # the diffs, or the run's log


def write(path: str, results: list[CaseResult]) -> None:
    root = ET.Element("testsuites", name="sscc test")
    by_file: dict[str, list[CaseResult]] = {}
    for r in results:
        by_file.setdefault(r.file, []).append(r)
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for file, cases in by_file.items():
        failures = sum(r.status == "failed" for r in cases)
        errors = sum(r.status == "error" for r in cases)
        seconds = sum(r.seconds for r in cases)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(cases)),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=f"{seconds:.3f}",
        )
        for r in cases:
            case = ET.SubElement(suite, "testcase", classname=file, name=r.name, time=f"{r.seconds:.3f}")
            if r.status in ("failed", "error"):
                tag = "failure" if r.status == "failed" else "error"
                node = ET.SubElement(case, tag, message=r.message, type=tag)
                node.text = r.details
        totals["tests"] += len(cases)
        totals["failures"] += failures
        totals["errors"] += errors
        totals["time"] += seconds
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
