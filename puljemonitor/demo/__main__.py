"""``python -m puljemonitor.demo``: see :mod:`puljemonitor.demo.command`."""

import sys

from puljemonitor.demo.command import main

sys.exit(main())
