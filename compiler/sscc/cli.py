"""The command line only: parse arguments, call the driver, print, choose the exit code.

Exit codes: 0 ok (warnings allowed), 1 the input has errors, 2 usage, 3 internal error,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__
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
@_guard
def schema(api_version, package):
    """Print the JSON Schema of a format version (for yaml-language-server and editors)."""
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
@click.option("--max-memory", multiple=True, metavar="[SERVICE=]MIB", help="Guest memory per service in MiB (default 256); a record needing more alone is dead-lettered.")
@click.option("--max-time", multiple=True, metavar="[SERVICE=]S", help="Seconds one record may take in an operator (default 10; 0 = no limit).")
@click.option("--max-record-bytes", multiple=True, metavar="[SERVICE=]N", help="Largest record read or written (default 16 MiB); larger ones are dead-lettered.")
@_compile_options
@_guard
def run_cmd(file, store, until_idle, quiet, env_pairs, env_files, log_rate, batch_records, http_allow, no_http, http_timeout, http_max_bytes, max_memory, max_time, max_record_bytes, no_opt, no_pass, strict):
    """Compile a pipeline into the project cache and run it on the embedded store."""
    from types import SimpleNamespace

    from .backend.project.cache import compiled_project

    # The front end (and its Options) is imported only when the cache is stale; a pass name is
    # checked up front only when one is given.
    options = _options(no_opt, no_pass, strict) if no_pass else SimpleNamespace(strict=strict, disabled_passes=frozenset(), optimize=not no_opt, mode="compile")
    sources = SourceCache()
    try:
        project, package, result = compiled_project(file, options, sources)
    except OSError as exc:
        click.echo(f"error: cannot write the project cache: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    if result is not None:
        _report_compile(file, result, sources)
    argv = [sys.executable, "-m", package, "run"]
    argv += ["--store", store] if store else []
    argv += ["--until-idle"] if until_idle else []
    argv += ["--quiet"] if quiet else []
    argv += ["--batch-records", str(batch_records)] if batch_records else []
    argv += [f"--env-file={f}" for f in env_files] + [f"--env={p}" for p in env_pairs]
    argv += ["--log-rate", str(log_rate)] if log_rate else []
    argv += [f"--http-allow={host}" for host in http_allow]  # docs/http.md
    argv += ["--no-http"] if no_http else []
    argv += ["--http-timeout", repr(http_timeout)] if http_timeout else []
    argv += ["--http-max-bytes", str(http_max_bytes)] if http_max_bytes else []
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
reset_cmd = _app_command(
    "reset", "Move a service's committed positions: `sscc reset SERVICE --to-beginning|--to-end|--to-offset N [--yes]`."
)
