"""``python -m cardionet_sk``: the ``cardionet`` command."""

import sys

from ._cli import main

sys.exit(main())
