import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(SHARED, "conformance", "corpus")
MANIFEST = os.path.join(SHARED, "conformance", "manifest.json")
