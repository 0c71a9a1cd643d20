"""``python -m discover`` is the ``discover`` command."""
import sys

from .cli import main

sys.exit(main())
