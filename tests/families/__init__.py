"""Tests of the experiment families other than the distances: one file per family."""

from __future__ import annotations

import subprocess
import sys

#: Modules a measuring child must not import (they are the analysis side's).
ANALYSIS_MODULES = ("pandas", "matplotlib", "numperf.claims", "numperf.plotting", "numperf.aggregate")


def analysis_imports(module: str) -> list[str]:
    """The ANALYSIS_MODULES a fresh interpreter has loaded after importing ``module`` and reading its
    FAMILY, as a measuring child does (empty when the family keeps them lazy)."""
    code = (f"import importlib, sys; m = importlib.import_module({module!r}); m.FAMILY.methods; "
            f"print(' '.join(n for n in {ANALYSIS_MODULES!r} if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()
