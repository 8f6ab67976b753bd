"""The environment variables operators see: `run -e KEY=VALUE` and `run --env-file FILE`.

Only these reach `std::env::var` in an operator (wasi.py); the host's own environment never
does. Files are read first, in the order given, then every `-e` (a later value wins).

An env file has one `KEY=VALUE` per line; blank lines and lines starting with `#` are skipped,
`export ` before the key is allowed, and one pair of matching quotes around the value is removed
(`KEY="a b"` is `a b`). Nothing else is interpreted: no `$VAR` expansion, no escapes.
"""

from __future__ import annotations

import argparse
import re

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class EnvError(ValueError):
    """A bad -e value or env file line (the app prints it as one `error:` line)."""


def add_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        type=_pair,
        metavar="KEY=VALUE",
        help="an environment variable operators can read with std::env::var (repeatable);"
        " operators see only the variables given here and in --env-file",
    )
    run.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="FILE",
        help="read KEY=VALUE lines (# comments) from FILE (repeatable; -e wins over a file)",
    )


def _pair(text: str) -> tuple[str, str]:
    try:
        return parse_pair(text)
    except EnvError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_pair(text: str) -> tuple[str, str]:
    key, found, value = text.partition("=")
    if not found:
        raise EnvError(f"expected KEY=VALUE, got {text!r} (the host's environment is never passed on)")
    _check_key(key, text)
    if "\0" in value:
        raise EnvError(f"the value of {key} contains a NUL byte")
    return key, value


def _check_key(key: str, text: str) -> None:
    if not _KEY.match(key):
        raise EnvError(f"{key!r} is not a variable name (in {text!r}): letters, digits, `_`, `.`, `-`")


def read_file(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise EnvError(f"cannot read env file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise EnvError(f"env file {path} is not UTF-8 text") from None
    out: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, found, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        try:
            parse_pair(f"{key}={value}" if found else key)
        except EnvError as exc:
            raise EnvError(f"{path}:{number}: {exc}") from None
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out


def collect(args: argparse.Namespace) -> dict[str, str]:
    """The run's variables: every --env-file in order, then every -e."""
    out: dict[str, str] = {}
    for path in getattr(args, "env_file", None) or ():
        out.update(read_file(path))
    for key, value in getattr(args, "env", None) or ():
        out[key] = value
    return out
