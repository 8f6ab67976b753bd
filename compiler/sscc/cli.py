"""The command line only: parse arguments, call the driver, print, choose the exit code.

Exit codes: 0 ok (warnings allowed), 1 the input has errors, 2 usage, 3 internal error,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__, status
from .diagnostics import Diagnostic, SourceCache, render_summary, render_text

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, the shell's convention


def _guard(fn):
    """No traceback reaches a user: an unexpected exception is an internal error with one line."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # `sscc ir FILE | head`: the reader left, which is its choice, not a failure. stdout
            # goes to /dev/null so the interpreter's final flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            # Ctrl-C (during a build: cargo is killed with its sandbox; the build cache and the
            # project cache only ever hold finished entries, so the next build starts cleanly)
            click.echo("\nsscc: interrupted; nothing half-built was kept, the next run builds again", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into a clean message
            if os.environ.get("SSCC_DEBUG"):
                raise
            click.echo(f"sscc: internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("  this is a bug in sscc; rerun with SSCC_DEBUG=1 for the traceback and report it", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _print_diagnostics(diags: list[Diagnostic], sources: SourceCache, fmt: str) -> None:
    if fmt == "json":
        return  # printed by the caller as one document
    color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    for d in diags:
        click.echo(render_text(d, sources, color=color), err=True)
        click.echo("", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sscc")
def main():
    """sscc: check, inspect and compile SDF stateful dataflow pipelines."""


# ---------------------------------------------------------------------------- check

FORMAT_DIAG = click.Choice(["text", "json"])


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--format", "fmt", type=FORMAT_DIAG, default="text", show_default=True, help="Diagnostics as text or JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but diagnostics.")
@_guard
def check(files, strict, fmt, quiet):
    """Check pipeline and package files completely; report every problem."""
    from .driver import Options, front_end

    sources = SourceCache()
    all_diags: list[Diagnostic] = []
    per_file = []
    for path in files:
        fe = front_end(path, Options(strict=strict), sources)
        ds = fe.diags.sorted()
        all_diags.extend(ds)
        per_file.append({"file": path, "kind": fe.kind, "apiVersion": fe.api_version, "diagnostics": [d.as_json() for d in ds]})
        _print_diagnostics(ds, sources, fmt)
    n_err = sum(d.is_error for d in all_diags)
    if fmt == "json":
        import orjson  # only for JSON output: not imported by a plain `sscc check`

        click.echo(orjson.dumps({"files": per_file, "errors": n_err, "warnings": len(all_diags) - n_err}, option=orjson.OPT_INDENT_2).decode())
    elif not quiet:
        names = files[0] if len(files) == 1 else f"{len(files)} files"
        click.echo(f"{names}: {render_summary(all_diags)}", err=True)
    sys.exit(EXIT_ERRORS if n_err else EXIT_OK)


# ---------------------------------------------------------------------------- ir


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--stage", type=click.Choice(["parsed", "checked", "optimized"]), default="optimized", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "dot", "mermaid"]), default="text", show_default=True)
@click.option("--trace", is_flag=True, help="Print the IR after every pass.")
@click.option("-O0", "no_opt", is_flag=True, help="Switch every optimization pass off.")
@click.option("--no-pass", "no_pass", multiple=True, metavar="NAME", help="Switch one pass off (repeatable).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@_guard
def ir(file, stage, fmt, trace, no_opt, no_pass, strict):
    """Dump the operator DAG IR of a pipeline."""
    from .check.model import Checked
    from .driver import Options, front_end, lower_ir, optimized_ir
    from .ir.dump import dump
    from .passes import pass_names

    unknown = [n for n in no_pass if n not in pass_names()]
    if unknown:
        raise click.BadParameter(f"unknown pass `{unknown[0]}`; passes: {', '.join(pass_names())}", param_hint="--no-pass")
    sources = SourceCache()
    opts = Options(strict=strict, disabled_passes=frozenset(no_pass), optimize=not no_opt)
    fe = front_end(file, opts, sources)
    ds = fe.diags.sorted()
    _print_diagnostics(ds, sources, "text")
    if fe.diags.has_errors or fe.pipeline is None:
        click.echo(f"{file}: {render_summary(ds)}", err=True)
        sys.exit(EXIT_ERRORS)
    if fe.kind != "dataflow":
        click.echo(f"{file}: a {fe.kind} file has no operator graph; `sscc check` checks it", err=True)
        sys.exit(EXIT_USAGE)
    if stage == "parsed":
        fe.checked = Checked(fe.pipeline)
        graph = lower_ir(fe)
    elif stage == "checked":
        graph = lower_ir(fe)
    else:

        def show(name, g):
            if trace:
                click.echo(f"=== after pass `{name}` ===")
                click.echo(dump(g, fmt))

        graph = optimized_ir(fe, opts, trace=show)
        if trace:
            click.echo("=== optimized ===")
    click.echo(dump(graph, fmt))
    sys.exit(EXIT_OK)


# ---------------------------------------------------------------------------- upgrade


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_guard
def upgrade(file):
    """Print the file upgraded to apiVersion 0.6.0."""
    from .diagnostics import Diagnostics
    from .driver import parse
    from .load.emit_yaml import emit_yaml

    sources = SourceCache()
    fe = parse(file, Diagnostics(), sources)
    ds = fe.diags.sorted()
    if fe.diags.has_errors or fe.upgraded is None:
        _print_diagnostics(ds, sources, "text")
        click.echo(f"{file}: {render_summary(ds)}", err=True)
        sys.exit(EXIT_ERRORS)
    doc = fe.upgraded
    if isinstance(doc.data, dict) and "apiVersion" in doc.data:
        doc.data["apiVersion"] = "0.6.0"  # a 0.5.0 file has the 0.6.0 shape already
    click.echo(emit_yaml(doc), nl=False)
    sys.exit(EXIT_OK)


# ---------------------------------------------------------------------------- schema


@main.command()
@click.option("--api-version", "api_version", default="0.6.0", show_default=True, help="Format version.")
@click.option("--package", "package", is_flag=True, help="The schema of sdf-package.yaml instead of dataflow.yaml.")
@click.option("--test", "test_file", is_flag=True, help="The schema of a pipeline test file (*.test.yaml, docs/testing.md).")
@_guard
def schema(api_version, package, test_file):
    """Print the JSON Schema of a format version (for yaml-language-server and editors)."""
    if test_file:
        import json

        from .pipetest.schema import SCHEMA

        click.echo(json.dumps(SCHEMA, indent=2))
        return
    from .schema import SUPPORTED, schema_json

    kind = "package" if package else "dataflow"
    if api_version not in SUPPORTED[kind]:
        raise click.BadParameter(f"no {kind} schema for `{api_version}`; choose one of {', '.join(SUPPORTED[kind])}", param_hint="--api-version")
    click.echo(schema_json(kind, api_version))


# ---------------------------------------------------------------------------- compile, run, topic


def _compile_options(fn):
    """-O0 / --no-pass / --strict, shared by `compile` and `run`."""
    fn = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(fn)
    fn = click.option("--no-pass", "no_pass", multiple=True, metavar="NAME", help="Switch one pass off (repeatable).")(fn)
    fn = click.option("-O0", "no_opt", is_flag=True, help="Switch every optimization pass off.")(fn)
    return fn


def _options(no_opt, no_pass, strict):
    from .driver import Options
    from .passes import pass_names

    unknown = [n for n in no_pass if n not in pass_names()]
    if unknown:
        raise click.BadParameter(f"unknown pass `{unknown[0]}`; passes: {', '.join(pass_names())}", param_hint="--no-pass")
    return Options(strict=strict, mode="compile", disabled_passes=frozenset(no_pass), optimize=not no_opt)


def _report_compile(file, result, sources) -> None:
    """Diagnostics of a compile; exits 1 (errors) or 2 (not a dataflow file) when it failed."""
    ds = result.fe.diags.sorted()
    _print_diagnostics(ds, sources, "text")
    if result.fe.pipeline is not None and result.fe.kind != "dataflow" and result.fe.ok:
        click.echo(f"{file}: a {result.fe.kind} file is not a pipeline; compile the dataflow.yaml that imports it", err=True)
        sys.exit(EXIT_USAGE)
    if not result.ok:
        click.echo(f"{file}: {render_summary(ds)}", err=True)
        sys.exit(EXIT_ERRORS)


@main.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Project directory to write.")
@click.option("--depfile", type=click.Path(dir_okay=False), help="Also write a Make rule: outputs depend on every input file read.")
@_compile_options
@_guard
def compile_cmd(file, out_dir, depfile, no_opt, no_pass, strict):
    """Compile a pipeline into a standalone Python project (docs/compile.md)."""
    from .backend.project import compile_project

    options = _options(no_opt, no_pass, strict)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise click.BadParameter(f"`{out_dir}` exists and is not a directory", param_hint="-o")
    sources = SourceCache()
    try:
        with status.shown(f"{file}: checking"):  # a terminal sees the steps (status.py)
            result = compile_project(file, out_dir, options, sources, depfile_path=depfile)
    except OSError as exc:
        click.echo(f"error: cannot write the project to {out_dir}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERRORS)
    _report_compile(file, result, sources)
    warnings = [d for d in result.fe.diags.items if not d.is_error]
    tail = f" ({render_summary(warnings)})" if warnings else ""
    click.echo(f"{file}: compiled to {out_dir}{tail}; run it with: cd {out_dir} && python -m {result.package} run", err=True)
    sys.exit(EXIT_OK)


@main.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--store", metavar="DIR", help="Store directory (default: $SSCC_STORE, else ./.sscc).")
@click.option("--broker", metavar="URL", help="Run on a broker instead of the embedded store: kafka://HOST:PORT or nats://HOST:PORT[,...] (default: $SSCC_BROKER; docs/backends.md).")
@click.option("-X", "broker_settings", multiple=True, metavar="KEY=VALUE", help="A broker client setting (SASL, TLS, ...); repeatable.")
@click.option("--broker-config", metavar="FILE", help="Broker client settings as a properties file.")
@click.option("--until-idle", is_flag=True, help="Batch mode: process what the topics hold, then stop.")
@click.option("--quiet", is_flag=True, help="No progress line, no summary, no operator output (println!).")
@click.option("-e", "--env", "env_pairs", multiple=True, metavar="KEY=VALUE", help="A variable operators read with std::env::var (repeatable; they see no other).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE", help="KEY=VALUE lines for operators (repeatable; -e wins).")
@click.option("--log-rate", type=click.IntRange(min=1), metavar="N", help="Lines per second each operator may print to the run's log (default 100).")
@click.option(
    "--batch-records",
    type=click.IntRange(min=1),
    metavar="N",
    help="Records read per source partition per batch (one commit each; default 16384).",
)
@click.option(
    "--http-allow",
    multiple=True,
    metavar="HOST[:PORT]",
    help="HTTP from operators (sdf-http) may reach only HOST (any port) or HOST:PORT; repeatable. Default: every host.",
)
@click.option("--no-http", is_flag=True, help="Refuse every HTTP request of operators (each is dead-lettered).")
@click.option("--http-timeout", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds per HTTP request (default 30).")
@click.option("--http-max-bytes", type=click.IntRange(min=1), metavar="N", help="Largest HTTP response body accepted (default 16 MiB).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N", help="Run N worker processes sharing the tasks through leases (docs/scale-out.md).")
@click.option("--ui", metavar="[HOST:]PORT", help="Serve a live web page of the run and /metrics (host default 127.0.0.1; docs/ui.md).")
@click.option("--metrics", metavar="[HOST:]PORT", help="Serve only Prometheus metrics at /metrics (docs/ui.md).")
@click.option("--max-memory", multiple=True, metavar="[SERVICE=]MIB", help="Guest memory per service in MiB (default 256); a record needing more alone is dead-lettered.")
@click.option("--max-time", multiple=True, metavar="[SERVICE=]S", help="Seconds one record may take in an operator (default 10; 0 = no limit).")
@click.option("--max-record-bytes", multiple=True, metavar="[SERVICE=]N", help="Largest record read or written (default 16 MiB); larger ones are dead-lettered.")
@_compile_options
@_guard
def run_cmd(file, store, broker, broker_settings, broker_config, until_idle, quiet, env_pairs, env_files, log_rate, batch_records, http_allow, no_http, http_timeout, http_max_bytes, workers, ui, metrics, max_memory, max_time, max_record_bytes, no_opt, no_pass, strict):
    """Compile a pipeline into the project cache and run it on the embedded store."""
    from types import SimpleNamespace

    from .backend.project.cache import compiled_project

    # The front end (and its Options) is imported only when the cache is stale; a pass name is
    # checked up front only when one is given.
    options = _options(no_opt, no_pass, strict) if no_pass else SimpleNamespace(strict=strict, disabled_passes=frozenset(), optimize=not no_opt, mode="compile")
    sources = SourceCache()
    try:
        with status.shown(f"{file}: checking"):
            project, package, result = compiled_project(file, options, sources)
    except OSError as exc:
        click.echo(f"error: cannot write the project cache: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    if result is not None:
        _report_compile(file, result, sources)
    argv = [sys.executable, "-m", package, "run"]
    argv += ["--store", store] if store else []
    argv += ["--broker", broker] if broker else []
    argv += [f"-X{pair}" for pair in broker_settings] + (["--broker-config", broker_config] if broker_config else [])
    argv += ["--until-idle"] if until_idle else []
    argv += ["--quiet"] if quiet else []
    argv += ["--batch-records", str(batch_records)] if batch_records else []
    argv += [f"--env-file={f}" for f in env_files] + [f"--env={p}" for p in env_pairs]
    argv += ["--log-rate", str(log_rate)] if log_rate else []
    argv += [f"--http-allow={host}" for host in http_allow]  # docs/http.md
    argv += ["--no-http"] if no_http else []
    argv += ["--http-timeout", repr(http_timeout)] if http_timeout else []
    argv += ["--http-max-bytes", str(http_max_bytes)] if http_max_bytes else []
    argv += ["--workers", str(workers)] if workers else []
    argv += [f"--ui={ui}"] if ui else []
    argv += [f"--metrics={metrics}"] if metrics else []
    # limits per record (docs/abi.md §7): checked by the project's own parser
    argv += [f"--max-memory={v}" for v in max_memory] + [f"--max-time={v}" for v in max_time]
    argv += [f"--max-record-bytes={v}" for v in max_record_bytes]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(project), *filter(None, [env.get("PYTHONPATH")])])
    sys.stdout.flush()
    sys.stderr.flush()
    # The project's own runner, in this process (launch.py): signals, exit code and output are
    # its own, exactly as `python -m NAME run` in the compiled project.
    from .backend.project import launch

    pipeline = launch.load(project, package)
    if pipeline is None and result is None and not launch.taken(project, package):
        # a cached project that does not import: compile it again
        project, package, result = compiled_project(file, options, sources, force=True)
        if result is not None:
            _report_compile(file, result, sources)
        pipeline = launch.load(project, package)
    if pipeline is not None:
        sys.exit(launch.run(project, pipeline, argv[3:]))
    # Its package name is taken in this process: replace the process instead.
    os.execve(sys.executable, argv, env)


# ---------------------------------------------------------------------------- packages (docs/packages.md)


@main.command("build")
@click.argument("path", default=".", type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), help="Where to write <function>.wasm (default: DIR/.sscc/build).")
@_guard
def build_cmd(path, out_dir):
    """Build a package project (sdf-package.yaml + rust/<package>/) to wasm, offline."""
    from .backend.package_build import build_package

    sources = SourceCache()
    result = build_package(path, sources)
    ds = result.diags.sorted()
    _print_diagnostics(ds, sources, "text")
    if not result.ok:
        click.echo(f"{result.package_file or path}: {render_summary(ds)}", err=True)
        sys.exit(EXIT_ERRORS)
    out_dir = out_dir or os.path.join(os.path.dirname(os.path.abspath(result.package_file)), ".sscc", "build")
    try:
        os.makedirs(out_dir, exist_ok=True)
        for name, wasm in sorted(result.modules.items()):
            with open(os.path.join(out_dir, f"{name}.wasm"), "wb") as fh:
                fh.write(wasm)
    except OSError as exc:
        click.echo(f"error: cannot write to {out_dir}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERRORS)
    for name, why in sorted(result.skipped.items()):
        click.echo(f"  {name}: not built alone: {why}", err=True)
    built = ", ".join(sorted(result.modules)) or "no function"
    click.echo(f"{result.package_file}: built {built} to {out_dir}", err=True)
    sys.exit(EXIT_OK)


@main.command("generate")
@click.argument("path", default=".", type=click.Path())
@_guard
def generate_cmd(path):
    """Write a package's Rust crate (rust/<package>/) with a stub per function, like `sdf generate`."""
    from .backend.package_generate import generate_package

    sources = SourceCache()
    result = generate_package(path, sources)
    ds = result.diags.sorted()
    _print_diagnostics(ds, sources, "text")
    if result.diags.has_errors:
        click.echo(f"{result.package_file or path}: {render_summary(ds)}", err=True)
        sys.exit(EXIT_ERRORS)
    for rel in result.written:
        click.echo(f"  wrote {rel}", err=True)
    for rel in result.kept:
        click.echo(f"  kept {rel} (exists)", err=True)
    click.echo(f"{result.package_file}: crate at {result.crate_dir}; build it with `sscc build {path}`", err=True)
    sys.exit(EXIT_OK)


def _app_command(name: str, doc: str):
    """`sscc NAME ...` runs the emitted project's `python -m PROJECT NAME ...` code
    (runtime_stub/sscc_runtime/app.py) on the embedded store, so both behave the same."""

    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @_guard
    def command(args):
        from .runtime_stub.sscc_runtime import app

        sys.exit(app.main([name, *args], prog="sscc"))

    command.__doc__ = doc
    settings = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
    return main.command(name, context_settings=settings, add_help_option=False)(command)


topic_cmd = _app_command("topic", "Produce, consume or list topics of the embedded store: `sscc topic COMMAND --help`.")
state_cmd = _app_command("state", "Inspect the keyed states of the embedded store: `sscc state list|show --help`.")
sql_cmd = _app_command("sql", 'Query the state tables of the embedded store: `sscc sql "select ..." [--store DIR]`.')


# ---------------------------------------------------------------------------- test, new, doctor, cache


@main.command("test")
@click.argument("files", nargs=-1, type=click.Path(), metavar="[FILE|DIR]... | function FN [FILE]")
@click.option("--update", is_flag=True, help="Rewrite the expectations of failing cases from the actual output.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), metavar="FILE", help="Also write the results as JUnit XML.")
@click.option("-v", "--verbose", is_flag=True, help="Show the runs' output (progress, operator println!).")
@click.option("--value", metavar="V", help="`test function`: the record's value (JSON of the operator's input type, or text).")
@click.option("--key", metavar="K", help="`test function`: the record's key.")
@_guard
def test_cmd(files, update, junit_path, verbose, value, key):
    """Run pipeline tests: the cases of *.test.yaml files (default: every one under the current
    directory; docs/testing.md). `sscc test function FN --value V [--key K] [FILE]` runs one
    operator (FN or SERVICE/FN) of FILE (default dataflow.yaml) on one record instead."""
    if files[:1] == ("function",):
        if len(files) not in (2, 3) or value is None:
            raise click.UsageError("`sscc test function` takes an operator and --value: sscc test function FN --value V [--key K] [FILE]")
        if update or junit_path:
            raise click.UsageError("--update and --junit are for test files, not `test function`")
        from .pipetest.function import run_function

        sys.exit(run_function(files[2] if len(files) == 3 else "dataflow.yaml", files[1], value, key))
    if value is not None or key is not None:
        raise click.UsageError("--value and --key are for `sscc test function FN ...`")
    from .pipetest.command import run_tests

    sys.exit(run_tests(files, update, junit_path, verbose))


@main.command("new")
@click.argument("name", type=click.Path(file_okay=False))
@click.option("--namespace", default="my-org", show_default=True, help="meta.namespace of the pipeline.")
@_guard
def new_cmd(name, namespace):
    """Start a pipeline project NAME/: dataflow.yaml, sample input, a passing test file, a Makefile, a README."""
    from .scaffold import ScaffoldError, create

    try:
        written = create(name, namespace)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        click.echo(f"error: cannot write {name}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERRORS)
    for rel in written:
        click.echo(f"  wrote {os.path.join(name, rel)}", err=True)
    click.echo(f"{name}: a new pipeline project; next: cd {name} && make test", err=True)
    sys.exit(EXIT_OK)


@main.command("doctor")
@_guard
def doctor_cmd():
    """Check the toolchain, wasm32 standard library, offline crates, build sandbox, wasmtime and
    build cache; print the command that fixes each problem (exit 1 when there is one)."""
    from .doctor import checks, report

    results = checks()
    click.echo(report(results, sys.stdout.isatty() and not os.environ.get("NO_COLOR")))
    sys.exit(EXIT_ERRORS if any(not c.ok for c in results) else EXIT_OK)


@main.group("cache", context_settings={"help_option_names": ["-h", "--help"]})
def cache_cmd():
    """The build cache ($SSCC_CACHE_DIR, else ~/.cache/sscc): `sscc cache info`, `sscc cache prune`."""


@cache_cmd.command("info")
@_guard
def cache_info_cmd():
    """Where the build cache is, its size, and what uses it."""
    import time

    from .cachetool import cache_root, entries, human, total_size

    root = cache_root()
    found = entries(root)
    click.echo(f"build cache: {root}{'' if root.exists() else ' (not created yet)'}")
    click.echo(f"size: {human(total_size(root))}")
    kinds: dict[str, list] = {}
    for e in found:
        kinds.setdefault(e.kind, []).append(e)
    now = time.time()
    for kind, group in sorted(kinds.items(), key=lambda kv: -sum(e.size for e in kv[1])):
        oldest = min(e.last_used for e in group)
        click.echo(f"  {kind:<8} {len(group):>5} {'entry' if len(group) == 1 else 'entries'} {human(sum(e.size for e in group)):>10}   least recently used {(now - oldest) / 86400:.0f} days ago")
    sys.exit(EXIT_OK)


@cache_cmd.command("prune")
@click.option("--max-size", metavar="SIZE", help="Remove least recently used entries until the cache is at most SIZE (500M, 2G).")
@click.option("--older-than", type=click.FloatRange(min=0), metavar="DAYS", help="Remove entries unused for DAYS days.")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@_guard
def cache_prune_cmd(max_size, older_than, dry_run):
    """Remove build cache entries, least recently used first (default: --older-than 30);
    entries a running build or run has locked are skipped."""
    import time

    from .cachetool import cache_root, describe, human, parse_size, prune

    limit = None
    if max_size is not None:
        try:
            limit = parse_size(max_size)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--max-size") from None
    if limit is None and older_than is None:
        older_than = 30
    root = cache_root()
    result = prune(root, limit, older_than, dry_run)
    now = time.time()
    verb = "would remove" if dry_run else "removed"
    for e in result.removed:
        click.echo(f"{verb} {describe(e, root, now)}")
    for e in result.skipped:
        click.echo(f"skipped (in use: its lock is held) {describe(e, root, now)}")
    freed = sum(e.size for e in result.removed)
    click.echo(f"{root}: {verb} {len(result.removed)} entries, {human(freed)}; {human(result.before)} -> {human(result.after)}")
    sys.exit(EXIT_OK)


@main.command("status", context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@_guard
def status_cmd(args):
    """Workers, their tasks and lag per partition: `sscc status [FILE] [--store DIR | --broker URL]` (docs/scale-out.md)."""
    if args and not args[0].startswith("-") and os.path.isfile(args[0]):
        # With the pipeline: its source partitions not started yet show too (the project's status).
        from types import SimpleNamespace

        from .backend.project import launch
        from .backend.project.cache import compiled_project

        options = SimpleNamespace(strict=False, disabled_passes=frozenset(), optimize=True, mode="compile")
        sources = SourceCache()
        project, package, result = compiled_project(args[0], options, sources)
        if result is not None:
            _report_compile(args[0], result, sources)
        pipeline = launch.load(project, package)
        if pipeline is not None:
            sys.exit(launch.run(project, pipeline, ["status", *args[1:]]))
        args = args[1:]
    from .runtime_stub.sscc_runtime import app

    sys.exit(app.main(["status", *args], prog="sscc"))
reset_cmd = _app_command(
    "reset", "Move a service's committed positions: `sscc reset SERVICE --to-beginning|--to-end|--to-offset N [--yes]`."
)
