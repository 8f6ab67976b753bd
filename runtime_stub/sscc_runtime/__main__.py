"""`python -m sscc_runtime run|produce|consume` — the runtime without the generated wrapper."""

import sys

from .cli import main

sys.exit(main())
