"""``python -m bench.compare``: see bench/compare/__init__.py."""

import sys

from bench.compare.run import main

sys.exit(main())
