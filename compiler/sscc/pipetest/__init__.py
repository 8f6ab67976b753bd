"""`sscc test`: pipeline tests written in YAML next to the pipeline (docs/testing.md).

spec.py loads and checks a test file (positioned diagnostics E240-E249), project.py compiles the
pipeline into the project cache and imports it in this process, runner.py runs one case on a
fresh embedded store, compare.py compares and diffs, update.py rewrites expectations (`--update`),
junit.py writes JUnit XML, function.py runs one operator on one record (`sscc test function`).
Nothing here is imported by `sscc check`: the runtime is loaded only when a test runs.
"""
