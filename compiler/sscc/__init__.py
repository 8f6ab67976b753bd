"""sscc: a compiler for stateful stream-processing pipelines (SDF dataflow files)."""

__version__ = "0.1.0"
