"""Upgrade rules for function definitions: preview adaptors, and the 0.1.0 flush argument."""

from __future__ import annotations

import re
from typing import Optional

from .upgrade_services import functions_of
from .upgrade_tree import Context, Node, defined_twice, mapping, replace_entry, scalar, sequence

ADAPTOR_KEYS = ("adaptors", "capabilities")  # `capabilities:` in 0.1.0, `adaptors:` in 0.2.0/0.3.0
# Preview inline code calls the HTTP adaptor as `ssdk_http::...`; this is the crate and the
# release that the preview's own examples declared when they moved to `dependencies:` (0.4.0).
HTTP_DEPENDENCY = (("name", "ssdk-http"), ("git", "https://github.com/infinyon/ssdk-guest-http"), ("tag", "v0.3.0"))


def adaptors(service: Node, cx: Context) -> None:
    """`adaptors: [http]` (0.1.0: `capabilities:`) becomes a dependency on the preview HTTP crate.

    Before:                                  After:
        - operator: map                          - operator: map
          adaptors:                                dependencies:
            - http                                   - name: ssdk-http
          run: |                                       git: https://github.com/infinyon/ssdk-guest-http
            fn f(...) {                                tag: v0.3.0
              ssdk_http::blocking::send(..)        run: |
                                                     ...
    """
    for function in functions_of(service):
        for key in ADAPTOR_KEYS:
            if key in function.value:
                _adaptor_dependencies(function, key, cx)


def _adaptor_dependencies(function: Node, key: str, cx: Context) -> None:
    listed = function.value[key]
    items = listed.value if listed.is_list else [listed]
    deps = [dep for dep in (_dependency(item, key, cx) for item in items) if dep is not None]
    existing = function.get("dependencies")
    if existing is not None and existing.is_list:
        existing.value.extend(deps)
        del function.value[key]
    else:
        conflict = defined_twice(cx, f"`{key}:` and `dependencies:` on one function")
        replace_entry(function, key, [("dependencies", sequence(deps, listed))], conflict)


def _dependency(item: Node, key: str, cx: Context) -> Optional[Node]:
    """The dependency an adaptor name stands for (None + E126 for a name the preview did not have)."""
    if item.value != "http":
        cx.diags.error(
            "E126",
            item.span,
            f"unknown adaptor `{item.value}` in `{key}:`",
            "the preview had only the `http` adaptor; declare the crate your code uses under `dependencies:`",
        )
        return None
    name, git, tag = (value for _, value in HTTP_DEPENDENCY)
    cx.note(
        item.span,
        f"`{key}: [http]` became a dependency on `{name}` ({git}, tag {tag}), the crate preview code calls as `ssdk_http::`",
    )
    return mapping(((k, scalar(v, item)) for k, v in HTTP_DEPENDENCY), item, item.span)


# ---------------------------------------------------------------------------- 0.1.0 flush


_FIRST_FN = re.compile(r"\bfn\s+[A-Za-z_]\w*\s*\((?P<params>[^)]*)\)[^{]*\{")
_PARAM = re.compile(r"(?P<mut>mut\s+)?(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>[A-Za-z_]\w*)\s*,?")


def aggregate_argument(service: Node, cx: Context) -> None:
    """0.1.0 passed the window's state to the flush function; from 0.2.0 it takes no argument
    and reads the state through the state's accessor function.

    Before (0.1.0):                                       After:
        flush:                                                flush:
          run: |                                                run: |
            fn top3(counts: CountPerWord) -> Result<..> {         fn top3() -> Result<..> { let counts = count_per_word().clone();
              let mut v = counts;                                   let mut v = counts;

    The argument's type names the state (`CountPerWord` = state `count-per-word`). The `let`
    goes on the signature's line, so every other line of the code keeps its position.
    """
    if cx.version != "0.1.0":
        return
    window = service.get("window")
    flush = window.get("flush") if window is not None and window.is_map else None
    run = flush.get("run") if flush is not None else None
    if run is None or not isinstance(run.value, str):
        return
    sig = _FIRST_FN.search(run.value)
    if sig is None or not sig.group("params").strip():
        return
    param = _PARAM.fullmatch(sig.group("params").strip())
    state = _state_named_by(service, param.group("type")) if param else None
    if state is None:
        cx.diags.error(
            "E127",
            run.span,
            f"cannot tell which state the 0.1.0 flush argument `{sig.group('params').strip()}` is",
            "write the flush function without arguments and read the state with its accessor, e.g. `count_per_word().clone()`",
        )
        return
    binding = f" let {param.group('mut') or ''}{param.group('name')} = {_accessor(state)}().clone();"
    text = run.value
    run.value = text[: sig.start("params")] + text[sig.end("params") : sig.end()] + binding + text[sig.end() :]
    cx.note(run.span, f"the 0.1.0 flush argument `{param.group('name')}` now reads the state with `{_accessor(state)}().clone()`")


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.split(r"[-_ ]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def _accessor(state: str) -> str:
    """The Rust accessor of a state: `count-per-word` -> `count_per_word`."""
    return "_".join(_words(state))


def _state_named_by(service: Node, rust_type: str) -> Optional[str]:
    """The state of the service whose Rust type name is `rust_type` (`CountPerWord`)."""
    states = service.get("states")
    for name in states.value if states is not None and states.is_map else ():
        if "".join(w.capitalize() for w in _words(name)) == rust_type:
            return name
    return None
