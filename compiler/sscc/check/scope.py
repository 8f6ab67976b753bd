"""Rule 0: what every name in the file can mean (types, imported functions, states per service).

Runs first and reports only what the import list itself gets wrong (E049: the package has no such
type/function/state). A package that could not be loaded is not reported here (the driver says so
once, W100/E100): the names its import lists become opaque, so nothing downstream cascades.
"""

from __future__ import annotations

from typing import Iterator, Optional

from .. import ast as A
from .context import Ctx, kebab
from .typesys import Env


def walk_types(t: Optional[A.Type]) -> Iterator[A.Type]:
    """t and every type nested in it."""
    stack = [t]
    while stack:
        cur = stack.pop()
        if cur is None:
            continue
        yield cur
        stack.extend(f.type for f in cur.fields)
        stack.extend((cur.item, cur.key, cur.value))


def pipeline_types(pipe: A.Pipeline, functions: bool = True) -> Iterator[A.Type]:
    """Every type expression written in a file (definitions, topics, states, package functions)."""
    for td in pipe.types.values():
        yield td.type
    for topic in pipe.topics.values():
        for part in (topic.value, topic.key):
            if part is not None:
                yield part.type
    for svc in pipe.services.values():
        for st in svc.states.values():
            if st.type is not None:
                yield st.type
    for st in pipe.package_states.values():
        if st.type is not None:
            yield st.type
    if functions:
        for fn in pipe.functions.values():
            yield from function_types(fn)


def function_types(fn: A.Function) -> Iterator[A.Type]:
    for p in fn.inputs:
        yield p.type
    if fn.output is not None:
        yield fn.output.type


def type_nodes(pipe: A.Pipeline, functions: bool = True) -> list[A.Type]:
    """Every type expression of a file, nested ones included, in one flat list."""
    return [t for root in pipeline_types(pipe, functions) for t in walk_types(root)]


def local_env(pipe: A.Pipeline, nodes: Optional[list] = None) -> Env:
    """A file's own named types plus the inline composites it names with `type-name`."""
    env = Env(pipe.path)
    for name, td in pipe.types.items():
        env.define(name, td.type)
    for t in type_nodes(pipe) if nodes is None else nodes:
        if t.type_name and t.kind in ("object", "enum", "list", "option", "arrow-row", "key-value"):
            env.defs.setdefault(kebab(t.type_name), t)
    return env


def _package_env(ctx: Ctx, pkg: A.Pipeline, cache: dict, depth: int = 0) -> Env:
    key = id(pkg)
    if key in cache:
        return cache[key]
    env = local_env(pkg)
    cache[key] = env
    if depth < 8:
        for imp in pkg.imports:
            sub = ctx.packages.get(imp.pkg)
            if sub is None:
                env.opaque.update(kebab(i.name) for i in imp.types)
                continue
            sub_env = _package_env(ctx, sub, cache, depth + 1)
            for item in imp.types:
                name = kebab(item.name)
                if name in sub.types:
                    env.defs.setdefault(name, sub_env.defs[name])
                    env.homes.setdefault(name, sub_env.home_of(name))
    return env


def build_scope(ctx: Ctx) -> None:
    """Fill ctx.env, ctx.out.types/functions/states; check each import item exists (E049)."""
    pipe = ctx.pipe
    ctx.type_nodes = type_nodes(pipe, functions=False)
    ctx.arrow_columns = {id(f.type) for t in ctx.type_nodes if t.kind == "arrow-row" for f in t.fields if f.type is not None}
    env = local_env(
        pipe, ctx.type_nodes + [t for fn in pipe.functions.values() for r in function_types(fn) for t in walk_types(r)]
    )
    ctx.env = env
    cache: dict = {id(pipe): env}
    for imp in pipe.imports:
        pkg = ctx.packages.get(imp.pkg)
        if pkg is None:
            _unresolved_import(ctx, imp)
            continue
        pkg_env = _package_env(ctx, pkg, cache)
        for item in imp.types:
            name = kebab(item.name)
            if name not in pkg.types:
                _missing(ctx, imp, item, "type", pkg.types)
            elif name not in pipe.types:  # a local definition wins over an imported one
                env.define(name, pkg_env.defs[name], pkg_env.home_of(name))
        for item in imp.functions:
            name = kebab(item.name)
            fn = pkg.functions.get(name)
            if fn is None:
                _missing(ctx, imp, item, "function", pkg.functions)
                continue
            ctx.out.functions[kebab(item.alias) if item.alias else name] = fn
            ctx.fn_envs[id(fn)] = pkg_env
        for item in imp.states:
            st = _find_state(pkg, item.name)
            if st is None:
                _missing(ctx, imp, item, "state", pkg.package_states)
            else:
                ctx.imported_states[kebab(item.name)] = st
    for fn in pipe.functions.values():
        ctx.fn_envs[id(fn)] = env
    ctx.out.types = _types_in_scope(ctx, env)
    for svc in pipe.services.values():
        ctx.out.states[svc.name] = dict(svc.states)


def _types_in_scope(ctx: Ctx, env: Env) -> dict[str, A.Type]:
    """The file's types plus every definition they, or the imported functions, reach in packages
    (an imported record's field types, a package function's output type): the IR needs them all."""
    types = dict(env.defs)
    todo = [(t, env.home_of(name)) for name, t in env.defs.items()]
    for fn in ctx.out.functions.values():
        todo += [(t, ctx.env_of(fn)) for t in function_types(fn)]
    while todo:
        root, home = todo.pop()
        for t in walk_types(root):
            if t.kind == "named" and t.name not in types and t.name in home.defs:
                types[t.name] = home.defs[t.name]
                todo.append((home.defs[t.name], home.home_of(t.name)))
    return types


def _find_state(pkg: A.Pipeline, name: str) -> Optional[A.StateDecl]:
    want = kebab(name)
    for sname, st in pkg.package_states.items():
        if kebab(sname) == want:
            return st
    return None


def _unresolved_import(ctx: Ctx, imp: A.Import) -> None:
    if imp.pkg and imp.pkg not in ctx.out.unresolved_packages:
        ctx.out.unresolved_packages.append(imp.pkg)
    ctx.env.opaque.update(kebab(i.name) for i in imp.types)
    for item in imp.functions:
        name = kebab(item.alias or item.name)
        ctx.out.functions.setdefault(name, A.Function(name=kebab(item.name), span=item.span, resolved=False))
    for item in imp.states:
        ctx.imported_states.setdefault(kebab(item.name), A.StateDecl(name=item.name, span=item.span))


def _missing(ctx: Ctx, imp: A.Import, item: A.ImportItem, what: str, have) -> None:
    names = sorted(have)
    ctx.error(
        "E049",
        item.span,
        f"package `{imp.pkg}` has no {what} `{item.name}`",
        ctx.hint(kebab(item.name), names, f"`{imp.pkg}` defines the {what}s", f"`{imp.pkg}` defines no {what}s"),
    )
