"""sscc runtime: runs a compiled pipeline's services over a durable local store.

Copied verbatim into every project sscc emits; depends only on the standard library and wasmtime.
docs/runtime.md (store, loop, service description) and docs/abi.md (frames, guest ABI) in the
sscc repository describe it.
"""

__version__ = "0.1.0"
