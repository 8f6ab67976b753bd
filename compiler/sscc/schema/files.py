"""File-level pieces (SDF-FORMAT.md §1, §6): meta, imports, dev, schedule, and the package body."""

from __future__ import annotations

from .build import enum, list_of, map_of, name_list, obj, ref, string
from .services import STEP_OPERATORS, keyed_state
from .topics import CONVERTER
from .typedefs import types_map

IMPORT_REF = ref("import")
TOPIC_REF = ref("topic")
PACKAGE_OPERATORS = STEP_OPERATORS + ("assign-key", "assign-timestamp", "update-state", "aggregate")


def meta() -> dict:
    return obj(
        "meta",
        {
            "name": string("Name of the dataflow or package."),
            "version": string(
                "Semantic version.",
                expect="a version like `0.1.0`",
                pattern=r"^\d+\.\d+\.\d+([-+].*)?$",
                examples=["0.1.0"],
            ),
            "namespace": string("Namespace; deployments are `namespace/name@version`."),
        },
        required=["name", "version", "namespace"],
        description="Name, version and namespace.",
    )


def package_import() -> dict:
    return obj(
        "import",
        {
            "pkg": string(
                "The package: `<namespace>/<name>@<version>`.",
                expect="a package like `namespace/name@0.1.0`",
                pattern=r"^[^/@\s]+/[^/@\s]+@\S+$",
                examples=["example/my-package@0.1.0"],
            ),
            "path": string("Local directory of the package (development)."),
            "types": name_list("type import", "Types to import."),
            "states": name_list("state import", "States to import."),
            "functions": name_list(
                "function import", "Functions to import.", alias=string("Local name of the function.")
            ),
        },
        required=["pkg"],
        description="A package import.",
    )


def dev() -> dict:
    return obj(
        "dev",
        {
            "converter": CONVERTER,
            "imports": list_of(IMPORT_REF, "Imports used in development (with local `path:`)."),
            "topics": map_of(TOPIC_REF, "Topic overrides used in development."),
        },
        description="Development overrides, ignored in production.",
    )


def schedule() -> dict:
    return map_of(
        obj("schedule", {"cron": string("Five-field cron expression.", examples=["*/5 * * * *"])}, required=["cron"]),
        "Timed events: name -> {cron: ...}; sources `{type: schedule, id: <name>}` read them.",
    )


def package_function() -> dict:
    return {
        "title": "package function",
        **ref("package-function-body"),
        "properties": {
            "operator": enum(
                PACKAGE_OPERATORS,
                "The operator kind the function implements.",
                hints={"flush": "a package declares a window flush function as `operator: aggregate`"},
            )
        },
        "required": ["operator"],
    }


def package_body() -> dict:
    """The keys of a package (sdf-package.yaml, or an entry of a dataflow's `packages:`)."""
    return {
        "meta": meta(),
        "imports": list_of(IMPORT_REF, "Packages this package uses."),
        "types": types_map(),
        "states": map_of(keyed_state(), "States: name -> keyed-state definition."),
        "functions": map_of(package_function(), "Functions: name -> operator and signature."),
        "dev": dev(),
    }
