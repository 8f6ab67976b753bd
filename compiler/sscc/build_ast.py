"""Schema-checked, 0.5/0.6-shaped data -> the version-free AST (sscc.ast).

Runs after JSON-Schema validation and the legacy upgrade, so the shape is known; it still
never assumes a value has the right type (a file with schema errors is built as far as it
goes, so the semantic checks can report more problems in the same run). Aliases are resolved
here. Embedded languages (Rust signatures, durations, cron) are parsed by sscc.syntax; their
problems become E030-E033 diagnostics at the exact file position.
"""

from __future__ import annotations

from typing import Any, Optional

from . import ast as A
from .diagnostics import Diagnostics, Span
from .load.yaml_loader import Document
from .syntax import SyntaxProblem, rust as rust_syntax
from .syntax.typename import parse_type_name
from .syntax.rust_map import rust_to_sdf, unwrap_result

TRANSFORMS_KEYS = ("transforms", "steps")


def _alias(d: dict, *names: str) -> tuple[Optional[str], Any]:
    """The first of `names` present in d (key, value); SDF accepts several spellings."""
    if isinstance(d, dict):
        for n in names:
            if n in d:
                return n, d[n]
    return None, None


class AstBuilder:
    def __init__(self, doc: Document, kind: str, diags: Diagnostics, upgraded_from: Optional[str] = None):
        self.doc = doc
        self.kind = kind
        self.diags = diags
        self.upgraded_from = upgraded_from

    # ------------------------------------------------------------------ helpers

    def sp(self, path) -> Span:
        return self.doc.span(tuple(path))

    def ksp(self, path) -> Span:
        return self.doc.key_span(tuple(path))

    @staticmethod
    def _map(v) -> dict:
        return v if isinstance(v, dict) else {}

    @staticmethod
    def _list(v) -> list:
        return v if isinstance(v, list) else []

    @staticmethod
    def _str(v) -> Optional[str]:
        if v is None or isinstance(v, (dict, list)):
            return None
        return v if isinstance(v, str) else str(v)

    def _syntax_error(self, code: str, value_span: Span, prob: SyntaxProblem, what: str, base_line: int, base_col: int):
        line = base_line + prob.line - 1
        col = (base_col + prob.col - 1) if prob.line == 1 else prob.col + (base_col - 1)
        end_col = (col + (prob.end_col - prob.col)) if prob.end_col else col + 1
        message = f"{what}: {prob.message}" if what else prob.message
        self.diags.error(code, Span(value_span.path, line, col, line, end_col), message, prob.hint)

    def _scalar_base(self, path, key: bool = False) -> tuple[Span, int, int]:
        """Span of a scalar (or of the mapping key naming `path`) and the file position of its
        first character of text (quotes skipped)."""
        span = self.ksp(path) if key else self.sp(path)
        line_text = self.doc.text.splitlines()[span.line - 1] if span.line else ""
        col = span.col
        if line_text[col - 1 : col] in ("'", '"'):
            col += 1
        return span, span.line, col

    def duration(self, path) -> tuple[Optional[str], Optional[int]]:
        raw = self.doc.get(path)
        if raw is None:
            return None, None
        text = self._str(raw)
        span, line, col = self._scalar_base(path)
        if isinstance(raw, bool) or text is None:
            return text, None  # the schema reported the wrong type
        try:
            from .syntax.duration import parse_duration  # only files with windows or ttl need it

            return text, parse_duration(text)
        except SyntaxProblem as prob:
            self._syntax_error("E031", span, prob, "invalid duration", line, col)
            return text, None

    # ------------------------------------------------------------------ types

    def type_name_ok(self, name: str, path: tuple, key: bool = False) -> bool:
        """E033 for a type name outside the type-name grammar, at its character (path names the
        scalar, or with `key` the mapping key)."""
        try:
            parse_type_name(name)
            return True
        except SyntaxProblem as prob:
            span, line, col = self._scalar_base(path, key)
            self._syntax_error("E033", span, prob, "", line, col)  # the message names the type name
            return False

    def type_of(self, node: Any, path: tuple) -> A.Type:
        """A type definition mapping (or a bare name) -> Type."""
        span = self.sp(path)
        if isinstance(node, str):
            if not self.type_name_ok(node, path):
                return A.Type("named", span, name="?")  # reported: no E040 as well
            return self._named_or_prim(node, span)
        node = self._map(node)
        tag = node.get("type")
        _, type_name = _alias(node, "type-name", "type_name")
        optional = node.get("optional") is True
        if tag is None:
            t = A.Type("null", span)
        elif not isinstance(tag, str):
            t = A.Type("named", span, name=str(tag))
        elif tag == "object":
            t = A.Type("object", span, fields=self.fields(node.get("properties"), path + ("properties",)))
        elif tag == "enum":
            t = A.Type(
                "enum",
                span,
                fields=self.fields(node.get("oneOf"), path + ("oneOf",), variants=True),
                tagging=self._str(node.get("tagging")) or "externally-tagged",
            )
        elif tag == "list":
            k, item = _alias(node, "items", "item")
            t = A.Type("list", span, item=self.type_of(item, path + (k,)) if k else None)
        elif tag == "option":
            t = A.Type("option", span, item=self.type_of(node.get("value"), path + ("value",)) if "value" in node else None)
        elif tag in ("key-value", "keyed-state"):
            props = self._map(node.get("properties"))
            pp = path + ("properties",)
            t = A.Type(
                tag,
                span,
                key=self.type_of(props["key"], pp + ("key",)) if "key" in props else None,
                value=self.type_of(props["value"], pp + ("value",)) if "value" in props else None,
            )
        elif tag == "arrow-row":
            t = A.Type(
                "arrow-row",
                span,
                fields=self.fields(node.get("properties"), path + ("properties",)),
                ttl=self._str(node.get("ttl")),
            )
            if "ttl" in node:
                self.duration(path + ("ttl",))
        elif tag == "null":
            t = A.Type("null", span)
        elif not self.type_name_ok(tag, path + ("type",)):
            t = A.Type("named", self.sp(path + ("type",)), name="?")  # reported: no E040 as well
        else:
            t = self._named_or_prim(tag, self.sp(path + ("type",)))
        if isinstance(type_name, str):
            self.type_name_ok(type_name, path + ("type-name" if "type-name" in node else "type_name",))
        t.type_name = self._str(type_name)
        t.optional = optional
        return t

    @staticmethod
    def _named_or_prim(name: str, span: Span) -> A.Type:
        canon = A.PRIMITIVE_ALIASES.get(name)
        if canon:
            return A.Type("prim", span, name=canon)
        if name == "null":
            return A.Type("null", span)
        return A.Type("named", span, name=A.kebab(name))

    def fields(self, props: Any, path: tuple, variants: bool = False) -> list[A.Field]:
        out = []
        for name, fdef in self._map(props).items():
            fpath = path + (name,)
            fmap = self._map(fdef)
            ftype = None if (variants and fmap.get("type") in (None, "null")) else self.type_of(fdef, fpath)
            ser = self._map(fmap.get("serialize")).get("rename")
            de = self._map(fmap.get("deserialize")).get("rename")
            out.append(
                A.Field(
                    name=str(name),
                    type=ftype,
                    span=self.ksp(fpath),
                    optional=fmap.get("optional") is True,
                    serialize_rename=self._str(ser),
                    deserialize_rename=self._str(de),
                )
            )
        return out

    # ------------------------------------------------------------------ functions

    def inline_code(self, text: str, path: tuple) -> A.InlineCode:
        span = self.sp(path)
        lines = self.doc.text.splitlines()
        first = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
        indicator = first[span.col - 1 : span.col]
        if indicator in ("|", ">"):
            line = span.line + 1
            body = lines[line - 1] if line <= len(lines) else ""
            col = len(body) - len(body.lstrip(" ")) + 1
        else:
            line, col = span.line, span.col + (1 if indicator in ("'", '"') else 0)
        lang = "python" if _looks_like_python(text) else "rust"
        return A.InlineCode(text=text, lang=lang, span=span, line=line, col=col)

    def function(self, node: dict, path: tuple, operator: Optional[str], name_hint: Optional[str] = None) -> A.Function:
        node = self._map(node)
        span = self.sp(path)
        fn = A.Function(name=A.kebab(name_hint) if name_hint else "", span=span)
        fn.declared_operator = self._str(node.get("operator"))
        fn.states = [self._str(self._map(s).get("name")) or "" for s in self._list(node.get("states"))]
        fn.dependencies = [self.dependency(d, path + ("dependencies", i)) for i, d in enumerate(self._list(node.get("dependencies")))]
        fn.with_params = {str(k): self._str(v) or "" for k, v in self._map(node.get("with")).items()}
        fn.inputs = [self.param(p, path + ("inputs", i)) for i, p in enumerate(self._list(node.get("inputs")))]
        if "output" in node:
            fn.output = self.output(node["output"], path + ("output",))
        run = node.get("run")
        if isinstance(run, str):
            fn.inline = self.inline_code(run, path + ("run",))
            if fn.inline.lang == "rust":
                self._rust_signature(fn, operator or fn.declared_operator)
        uses = self._str(node.get("uses"))
        if uses is not None:
            fn.uses = A.kebab(uses)
            fn.uses_span = self.sp(path + ("uses",))
            if not fn.name:
                fn.name = fn.uses
        return fn

    def _rust_signature(self, fn: A.Function, operator: Optional[str]) -> None:
        code = fn.inline
        try:
            fns = rust_syntax.parse_functions(code.text)
            op_fn = rust_syntax.operator_function(fns, code.text)
        except SyntaxProblem as prob:
            self._syntax_error("E030", code.span, prob, "cannot read the Rust function signature", code.line, code.col)
            return
        if op_fn is None:
            return
        code.signature = op_fn
        code.helpers = [f for f in fns if f is not op_fn]
        fn.name = A.kebab(op_fn.name)
        fspan = lambda ln, c: Span(code.span.path, code.line + ln - 1, code.col + c - 1)  # noqa: E731
        params = list(op_fn.params)
        declared_inputs = []
        for i, p in enumerate(params):
            t = rust_to_sdf(p.type, fspan(p.line, p.col))
            kind = "key" if (len(params) == 2 and i == 0 and operator != "assign-timestamp") else "value"
            optional = False
            if t is not None and t.kind == "option" and kind == "key":
                optional, t = True, t.item
            declared_inputs.append(A.Param(name=p.name, type=t or A.Type("named", fspan(p.line, p.col), name="?"), optional=optional, kind=kind, span=fspan(p.line, p.col)))
        fn.inputs = declared_inputs
        if op_fn.ret is None:
            fn.output = A.Output(A.Type("null", fspan(op_fn.line, op_fn.col)), span=fspan(op_fn.line, op_fn.col))
            return
        inner, _err, _was_result = unwrap_result(op_fn.ret)
        ospan = fspan(op_fn.line, op_fn.col)
        t = rust_to_sdf(inner, ospan) or A.Type("named", ospan, name=inner.text)
        out = A.Output(t, span=ospan)
        if operator == "filter-map" and t.kind == "option" and t.item is not None:
            out = A.Output(t.item, optional=True, span=ospan)
        elif operator == "flat-map" and t.kind == "list" and t.item is not None:
            out = A.Output(t.item, list=True, span=ospan)
        fn.output = out

    def param(self, node: Any, path: tuple) -> A.Param:
        node = self._map(node)
        t = self.type_of(node, path) if "type" in node else A.Type("null", self.sp(path))
        return A.Param(
            name=self._str(node.get("name")) or "",
            type=t,
            optional=node.get("optional") is True,
            kind=self._str(node.get("kind")) or "value",
            span=self.sp(path),
        )

    def output(self, node: Any, path: tuple) -> A.Output:
        node = self._map(node)
        t = self.type_of(node, path)
        return A.Output(type=t, optional=node.get("optional") is True, list=node.get("list") is True, span=self.sp(path))

    def dependency(self, node: Any, path: tuple) -> A.Dependency:
        node = self._map(node)
        _, dflt = _alias(node, "default_features", "default-features")
        return A.Dependency(
            name=self._str(node.get("name")) or "",
            version=self._str(node.get("version")),
            path=self._str(node.get("path")),
            git=self._str(node.get("git")),
            features=[str(f) for f in self._list(node.get("features"))],
            default_features=dflt if isinstance(dflt, bool) else None,
            span=self.sp(path),
            tag=self._str(node.get("tag")),
        )

    def step(self, node: Any, path: tuple, operator: Optional[str] = None) -> A.Step:
        """A `transforms:` item (operator from the item) or a named slot (operator given)."""
        node = self._map(node)
        op = operator or self._str(node.get("operator")) or ""
        op = op.replace("_", "-")
        fn = self.function(node, path, op)
        return A.Step(operator=op, function=fn, span=self.sp(path), loc="/".join(str(p) for p in path))

    def steps(self, items: Any, path: tuple) -> list[A.Step]:
        return [self.step(s, path + (i,)) for i, s in enumerate(self._list(items))]

    def _transforms(self, node: dict, path: tuple) -> list[A.Step]:
        k, v = _alias(node, *TRANSFORMS_KEYS)
        return self.steps(v, path + (k,)) if k else []

    # ------------------------------------------------------------------ services

    def endpoint(self, node: Any, path: tuple) -> A.Endpoint:
        node = self._map(node)
        return A.Endpoint(
            kind=self._str(node.get("type")) or "topic",
            id=self._str(node.get("id")) or "",
            transforms=self._transforms(node, path),
            span=self.sp(path),
            id_span=self.sp(path + ("id",)) if "id" in node else None,
        )

    def state(self, name: str, node: Any, path: tuple) -> A.StateDecl:
        node = self._map(node)
        decl = A.StateDecl(name=str(name), span=self.ksp(path))
        if "from" in node:
            ref = self._str(node["from"]) or ""
            decl.from_span = self.sp(path + ("from",))
            svc, _, st = ref.partition(".")
            decl.from_ref = (svc, st)
        elif "system" in node:
            decl.system = self._str(node["system"])
        else:
            decl.type = self.type_of(node, path)
        return decl

    def partition(self, node: Any, path: tuple) -> A.Partition:
        node = self._map(node)
        k_ak, ak = _alias(node, "assign-key", "assign_key")
        k_us, us = _alias(node, "update-state", "update_state")
        return A.Partition(
            assign_key=self.step(ak, path + (k_ak,), "assign-key") if k_ak else None,
            transforms=self._transforms(node, path),
            update_state=self.step(us, path + (k_us,), "update-state") if k_us else None,
            span=self.ksp(path),
        )

    def window(self, node: Any, path: tuple) -> A.Window:
        node = self._map(node)
        kinds = [k for k in ("tumbling", "sliding") if k in node]
        kind = kinds[0] if kinds else None
        kpath = path + (kind,) if kind else path
        duration, duration_ms = self.duration(kpath + ("duration",)) if kind else (None, None)
        slide, slide_ms = self.duration(kpath + ("slide",)) if kind == "sliding" else (None, None)
        offset, offset_ms = self.duration(kpath + ("offset",)) if kind else (None, None)
        wm = None
        if "watermark" in node:
            wnode = self._map(node["watermark"])
            wpath = path + ("watermark",)
            k_gp, _ = _alias(wnode, "grace-period", "grace_period")
            idl, idl_ms = self.duration(wpath + ("idleness",))
            gp, gp_ms = self.duration(wpath + (k_gp,)) if k_gp else (None, None)
            wm = A.Watermark(idl, gp, idl_ms, gp_ms, self.ksp(wpath))
        k_at, at = _alias(node, "assign-timestamp", "assign_timestamp")
        part = node.get("partition")
        return A.Window(
            kind=kind,
            duration=duration,
            slide=slide,
            offset=offset,
            duration_ms=duration_ms,
            slide_ms=slide_ms,
            offset_ms=offset_ms,
            watermark=wm,
            assign_timestamp=self.step(at, path + (k_at,), "assign-timestamp") if k_at else None,
            transforms=self._transforms(node, path),
            partition=self.partition(part, path + ("partition",)) if part is not None else None,
            flush=self.step(node["flush"], path + ("flush",), "flush") if "flush" in node else None,
            span=self.ksp(path),
            kinds_given=kinds,
            duration_span=self.sp(kpath + ("duration",)) if kind and "duration" in self._map(node.get(kind)) else None,
            slide_span=self.sp(kpath + ("slide",)) if kind and "slide" in self._map(node.get(kind)) else None,
        )

    def service(self, name: str, node: Any, path: tuple) -> A.Service:
        node = self._map(node)
        states = {}
        for sname, sdef in self._map(node.get("states")).items():
            states[str(sname)] = self.state(sname, sdef, path + ("states", sname))
        return A.Service(
            name=str(name),
            sources=[self.endpoint(s, path + ("sources", i)) for i, s in enumerate(self._list(node.get("sources")))],
            sinks=[self.endpoint(s, path + ("sinks", i)) for i, s in enumerate(self._list(node.get("sinks")))],
            states=states,
            transforms=self._transforms(node, path),
            partition=self.partition(node["partition"], path + ("partition",)) if node.get("partition") is not None else None,
            window=self.window(node["window"], path + ("window",)) if node.get("window") is not None else None,
            span=self.ksp(path),
        )

    # ------------------------------------------------------------------ top level

    def consumer(self, node: Any, path: tuple) -> Optional[A.ConsumerConfig]:
        if not isinstance(node, dict):
            return None
        off = node.get("default_starting_offset")
        offset = None
        if isinstance(off, dict):
            v = off.get("value", 0)
            offset = A.Offset(self._str(off.get("position")) or "End", v if isinstance(v, int) and not isinstance(v, bool) else 0)
        mb = node.get("max_bytes")
        return A.ConsumerConfig(offset, mb if isinstance(mb, int) else None, self._str(node.get("isolation")), self.ksp(path))

    def producer(self, node: Any, path: tuple) -> Optional[A.ProducerConfig]:
        if not isinstance(node, dict):
            return None
        ints = {k: node.get(k) if isinstance(node.get(k), int) else None for k in ("batch_size", "linger_ms", "timeout_ms")}
        return A.ProducerConfig(
            compression=self._str(node.get("compression")), isolation=self._str(node.get("isolation")), span=self.ksp(path), **ints
        )

    def topic(self, tid: str, node: Any, path: tuple) -> A.Topic:
        node = self._map(node)
        schema = self._map(node.get("schema"))

        def part(k):
            if k not in schema:
                return None
            pnode = schema[k]
            ppath = path + ("schema", k)
            conv = self._str(self._map(pnode).get("converter"))
            return A.TopicSchemaPart(type=self.type_of(pnode, ppath), converter=conv, span=self.sp(ppath))

        return A.Topic(
            id=str(tid),
            name=self._str(node.get("name")) or str(tid),
            value=part("value"),
            key=part("key"),
            consumer=self.consumer(node.get("consumer"), path + ("consumer",)),
            producer=self.producer(node.get("producer"), path + ("producer",)),
            span=self.ksp(path),
        )

    def imports(self, items: Any, path: tuple) -> list[A.Import]:
        out = []
        for i, imp in enumerate(self._list(items)):
            imp = self._map(imp)
            ipath = path + (i,)

            def named(key):
                return [
                    A.ImportItem(self._str(self._map(x).get("name")) or "", self._str(self._map(x).get("alias")), self.sp(ipath + (key, j)))
                    for j, x in enumerate(self._list(imp.get(key)))
                ]

            out.append(
                A.Import(
                    pkg=self._str(imp.get("pkg")) or "",
                    path=self._str(imp.get("path")),
                    types=named("types"),
                    states=named("states"),
                    functions=named("functions"),
                    span=self.sp(ipath),
                )
            )
        return out

    def build(self) -> A.Pipeline:
        d = self._map(self.doc.data)
        meta_n = self._map(d.get("meta"))
        meta = (
            A.Meta(
                name=self._str(meta_n.get("name")) or "",
                version=self._str(meta_n.get("version")) or "",
                namespace=self._str(meta_n.get("namespace")) or "",
                span=self.ksp(("meta",)),
            )
            if "meta" in d
            else None
        )
        cfg_n = self._map(d.get("config"))
        config = A.Config(
            converter=self._str(cfg_n.get("converter")),
            consumer=self.consumer(cfg_n.get("consumer"), ("config", "consumer")),
            producer=self.producer(cfg_n.get("producer"), ("config", "producer")),
        )
        types: dict[str, A.TypeDef] = {}
        written_types: list[tuple[str, Span]] = []
        for name, tdef in self._map(d.get("types")).items():
            self.type_name_ok(str(name), ("types", name), key=True)
            k = A.kebab(str(name))
            written_types.append((str(name), self.ksp(("types", name))))
            types.setdefault(k, A.TypeDef(k, str(name), self.type_of(tdef, ("types", name)), self.ksp(("types", name))))
        schedules = {}
        for name, sdef in self._map(d.get("schedule")).items():
            cron = self._str(self._map(sdef).get("cron")) or ""
            spath = ("schedule", name, "cron")
            if "cron" in self._map(sdef):
                span, line, col = self._scalar_base(spath)
                try:
                    from .syntax.cron import parse_cron  # only files with schedules need it

                    parse_cron(cron)
                except SyntaxProblem as prob:
                    self._syntax_error("E032", span, prob, "invalid cron expression", line, col)
            schedules[str(name)] = A.Schedule(str(name), cron, self.ksp(("schedule", name)))
        pipe = A.Pipeline(
            path=self.doc.path,
            kind=self.kind,
            api_version=self._str(d.get("apiVersion")) or "",
            meta=meta,
            imports=self.imports(d.get("imports"), ("imports",)),
            config=config,
            types=types,
            topics={str(t): self.topic(t, n, ("topics", t)) for t, n in self._map(d.get("topics")).items()},
            services={str(s): self.service(s, n, ("services", s)) for s, n in self._map(d.get("services")).items()},
            schedules=schedules,
            dev_imports=self.imports(self._map(d.get("dev")).get("imports"), ("dev", "imports")),
            upgraded_from=self.upgraded_from,
            written_names={"type": written_types},
        )
        if self.kind == "package":
            for fname, fdef in self._map(d.get("functions")).items():
                fpath = ("functions", fname)
                op = self._str(self._map(fdef).get("operator"))
                fn = self.function(fdef, fpath, op, name_hint=str(fname))
                fn.name = A.kebab(str(fname))
                fn.span = self.ksp(fpath)
                pipe.written_names.setdefault("function", []).append((str(fname), fn.span))
                pipe.functions.setdefault(fn.name, fn)  # the first of colliding spellings, as for types
            for sname, sdef in self._map(d.get("states")).items():
                pipe.package_states[str(sname)] = self.state(sname, sdef, ("states", sname))
        return pipe


def _looks_like_python(text: str) -> bool:
    stripped = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return bool(stripped) and any(ln.startswith("def ") for ln in stripped) and not any(
        ln.startswith(("fn ", "pub fn ")) for ln in stripped
    )


def build_ast(doc: Document, kind: str, diags: Diagnostics, upgraded_from: Optional[str] = None) -> A.Pipeline:
    return AstBuilder(doc, kind, diags, upgraded_from).build()
