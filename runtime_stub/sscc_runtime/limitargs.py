"""`run --max-memory / --max-time / --max-record-bytes [SERVICE=]VALUE`: the per-record limits
of the services (docs/abi.md §7), for every service or one by name; the last one given wins."""

from __future__ import annotations

import argparse

from . import records
from .service import Service

# flag -> (Limits field, unit shown, from the text to the field's value)
FLAGS = {
    "--max-memory": ("memory_mb", "MIB", lambda v: _number(v, int, 1)),
    "--max-time": ("timeout_ms", "S", lambda v: round(_number(v, float, 0) * 1000)),
    "--max-record-bytes": ("record_bytes", "N", lambda v: _number(v, int, 1)),
}
HELP = {
    "--max-memory": "guest memory per service instance in MiB (default 256); a record that needs more alone is dead-lettered",
    "--max-time": "seconds one record may take in an operator (default 10; 0 = no limit, and no Ctrl-C inside a batch)",
    "--max-record-bytes": "largest record (key + value) read or written (default 16 MiB); larger ones are dead-lettered",
}


def add_arguments(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group(
        "limits per record", "VALUE for every service, or SERVICE=VALUE for one (repeatable; the last wins)"
    )
    for flag, (field, unit, convert) in FLAGS.items():
        group.add_argument(
            flag, action="append", default=[], metavar=f"[SERVICE=]{unit}", type=_setting(convert), help=HELP[flag]
        )


def apply(services: list[Service], args: argparse.Namespace) -> list[Service]:
    """The services with the limits the flags set; a service name no service has is an error."""
    names = {svc.name for svc in services}
    changes: dict[str, dict] = {name: {} for name in names}
    for flag, (field, _, _) in FLAGS.items():
        for target, value in getattr(args, flag[2:].replace("-", "_"), None) or []:
            chosen = [svc.name for svc in services if target is None or target in (svc.name, svc.title)]
            if not chosen:
                known = ", ".join(sorted(svc.title for svc in services))
                raise ValueError(f"{flag} {target}=...: no service {target!r} (services: {known})")
            for name in chosen:
                changes[name][field] = value
    return [
        records.replace(svc, limits=records.replace(svc.limits, **changes[svc.name])) if changes[svc.name] else svc
        for svc in services
    ]


def _setting(convert):
    def parse(text: str):
        target, sep, value = text.rpartition("=")
        try:
            return (target if sep else None, convert(value))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _number(text: str, kind, minimum):
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not value >= minimum or value != value or value == float("inf"):
        raise ValueError(f"expected a number >= {minimum}, got {text!r}")
    return value
