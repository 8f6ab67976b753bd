"""`sscc compile` of an example gives a standalone project whose own CLI (`python -m NAME run`,
`python -m NAME topic ...`) produces the same outputs as `sscc run`."""

import os
import sys

from example_cli import Example, assert_outputs, call, collect_outputs, produce_inputs, require_toolchain, run_with_sscc, sscc

EXAMPLE = Example("chain")
PACKAGE = "chain"


def test_emitted_project_gives_the_same_outputs_as_sscc_run(tmp_path):
    require_toolchain()
    project = tmp_path / "project"
    sscc("compile", str(EXAMPLE.file), "-o", str(project))
    # the project runs on its own: sscc's package is not needed, the copied runtime is beside it
    app = ["env", f"PYTHONPATH={project}", sys.executable, "-m", PACKAGE]
    store = tmp_path / "project-store"
    produce_inputs(EXAMPLE, store, [*app, "topic"])
    call([*app, "run", "--store", str(store), "--until-idle", "--quiet"], cwd=project)
    compiled = collect_outputs(EXAMPLE, store, [*app, "topic"])

    assert_outputs(EXAMPLE, compiled)
    assert compiled.topics == run_with_sscc(EXAMPLE, tmp_path / "sscc-store").topics
    assert os.path.isdir(project / PACKAGE)
