"""`sscc test [FILE...]`: load every test file, compile each pipeline once, run every case,
print the results; exit 0 all passed, 1 a case failed or could not run, 2 a test file is broken
(positioned diagnostics, nothing run)."""

from __future__ import annotations

import os
import sys
import time

import click

from ..diagnostics import Diagnostics, SourceCache, did_you_mean, render_summary, render_text
from . import compare, spec
from .junit import CaseResult

EXIT_OK, EXIT_FAILED, EXIT_BROKEN = 0, 1, 2


def _color(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _print_diags(diags, sources: SourceCache) -> None:
    color = _color(sys.stderr)
    for d in diags:
        click.echo(render_text(d, sources, color=color), err=True)
        click.echo("", err=True)


def find_files(paths: tuple[str, ...]) -> list[str]:
    """The test files named, a directory standing for every `*.test.yaml` under it; none named:
    every one under the current directory."""
    out: list[str] = []
    for path in paths or (".",):
        out += spec.discover(path) if os.path.isdir(path) else [path]
    return out


def run_tests(paths: tuple[str, ...], update: bool, junit_path: str | None, verbose: bool) -> int:
    try:
        return _run_tests(paths, update, junit_path, verbose)
    except KeyboardInterrupt:  # before or between cases (one in a case is handled below)
        click.echo("interrupted", err=True)
        return 130


def _run_tests(paths: tuple[str, ...], update: bool, junit_path: str | None, verbose: bool) -> int:
    files = find_files(paths)
    if not files:
        where = ", ".join(paths) if paths else "the current directory"
        click.echo(f"error: no test files (*{spec.SUFFIX}) under {where}", err=True)
        return EXIT_BROKEN
    sources = SourceCache()
    diags = Diagnostics()
    tests = [t for t in (spec.load(f, diags, sources) for f in files) if t is not None]
    if diags.has_errors:
        _print_diags(diags.sorted(), sources)
        click.echo(f"{_names(files)}: {render_summary(diags.sorted())}; no case was run", err=True)
        return EXIT_BROKEN

    from .project import prepare

    started = time.monotonic()
    prepared = {}
    for test in tests:
        if test.pipeline_path not in prepared:
            prepared[test.pipeline_path] = prepare(test.pipeline_path, sources)
        p = prepared[test.pipeline_path]
        if p.ok:
            _check_topics(test, p, diags)
    if diags.has_errors:
        _print_diags(diags.sorted(), sources)
        click.echo(f"{_names(files)}: {render_summary(diags.sorted())}; no case was run", err=True)
        return EXIT_BROKEN

    results: list[CaseResult] = []
    try:
        _run_all(tests, prepared, sources, results, update, verbose)
    except KeyboardInterrupt:
        click.echo(f"interrupted after {len(results)} case{'s' if len(results) != 1 else ''}")
        if junit_path:
            from .junit import write

            write(junit_path, results)
        return 130
    if junit_path:
        from .junit import write

        write(junit_path, results)
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "error")}
    line = f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors in {time.monotonic() - started:.2f}s"
    click.echo(line)
    return EXIT_OK if counts["passed"] == len(results) else EXIT_FAILED


def _run_all(tests, prepared, sources: SourceCache, results: list[CaseResult], update: bool, verbose: bool) -> None:
    from .runner import run_case

    color = _color(sys.stdout)
    for test in tests:
        p = prepared[test.pipeline_path]
        click.echo(test.path)
        if not p.ok:
            _print_diags(p.diagnostics, sources)
            for case in test.cases:
                results.append(CaseResult(test.path, case.name, "error", message=f"{test.pipeline_path} does not compile"))
                click.echo(f"  {_paint('ERROR', '1;31', color)} {case.name}: {test.pipeline_path} does not compile")
            continue
        updates: dict[int, dict[str, list]] = {}
        for case in test.cases:
            outcome = run_case(p, case, verbose)
            if outcome.error:
                results.append(CaseResult(test.path, case.name, "error", outcome.seconds, outcome.error, outcome.log))
                click.echo(f"  {_paint('ERROR', '1;31', color)} {case.name} ({outcome.seconds:.2f}s): {outcome.error}")
                continue
            diffs = []
            for topic, want in case.expect.items():
                d = compare.diff(topic, want, outcome.topics[topic], topic in p.dead_letters)
                if d is not None:
                    diffs.append(d)
                    updates.setdefault(case.index, {})[topic] = compare.updated(want, outcome.topics[topic], topic in p.dead_letters)
            if not diffs:
                results.append(CaseResult(test.path, case.name, "passed", outcome.seconds))
                click.echo(f"  {_paint('PASS', '1;32', color)}  {case.name} ({outcome.seconds:.2f}s)")
                continue
            if update:
                results.append(CaseResult(test.path, case.name, "passed", outcome.seconds, "updated"))
                click.echo(f"  {_paint('UPDATED', '1;33', color)} {case.name}: {', '.join(f'`{d.topic}`' for d in diffs)} rewritten from the output")
                continue
            text = "\n".join(d.text() for d in diffs)
            summary = "; ".join(f"topic `{d.topic}` differs" for d in diffs)
            results.append(CaseResult(test.path, case.name, "failed", outcome.seconds, summary, text + _log_tail(outcome.log)))
            click.echo(f"  {_paint('FAIL', '1;31', color)}  {case.name} ({outcome.seconds:.2f}s)")
            for d in diffs:
                click.echo("    " + d.text(color).replace("\n", "\n    "))
            if outcome.log.strip():
                click.echo("    the run's log:\n" + "\n".join("      " + line for line in outcome.log.splitlines()[-20:]))
        if update and updates:
            from .update import rewrite

            if rewrite(test.path, updates):
                click.echo(f"  wrote {test.path} ({len(updates)} case{'s' if len(updates) != 1 else ''} updated)")


def _log_tail(log: str) -> str:
    return ("\n\nthe run's log:\n" + "\n".join(log.splitlines()[-20:])) if log.strip() else ""


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _names(files: list[str]) -> str:
    return files[0] if len(files) == 1 else f"{len(files)} test files"


def _check_topics(test: spec.TestFile, p, diags: Diagnostics) -> None:
    """E242: an input topic the pipeline does not have, or an expected topic that is neither a
    topic of the pipeline nor a service's dead-letter topic."""
    for case in test.cases:
        named = {t for phase in case.phases for t in phase}
        for topic in sorted(named):
            if topic not in p.topics:
                diags.error(
                    "E242",
                    case.topic_spans[("input", topic)],
                    f"case `{case.name}` produces to `{topic}`, which is not a topic of {test.pipeline}",
                    did_you_mean(topic, p.topics, "topics"),
                )
        for topic in case.expect:
            if topic not in p.topics and topic not in p.dead_letters:
                diags.error(
                    "E242",
                    case.topic_spans[("expect", topic)],
                    f"case `{case.name}` expects records in `{topic}`, which is neither a topic of {test.pipeline} nor a dead-letter topic",
                    did_you_mean(topic, p.known_topics(), "topics"),
                )
