"""Allow ``python -m numperf``."""

from numperf.cli import main

raise SystemExit(main())
