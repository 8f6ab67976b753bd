"""SHA-256 for the warm `sscc run` path, without importing hashlib.

`import hashlib` loads OpenSSL's libcrypto, a few ms of a start-up that aims at 150 ms.
CPython's own SHA-256 (`_sha256`; `_sha2` from 3.12 on) gives the same digests and loads
nothing; hashlib stays the fallback for an interpreter without it. The inputs hashed here are
small (pipeline files, a fingerprint), where OpenSSL's speed does not matter.
"""

try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+, or another interpreter
    try:
        from _sha2 import sha256  # type: ignore[no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

__all__ = ["sha256"]
