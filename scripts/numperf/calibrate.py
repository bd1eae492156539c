"""Per-host calibration: the rates a family's floor needs, measured on this machine.

A family that declares ``calibrate(threads)`` (``numperf.family.Family``) gets it run in a child
under the selected backend and thread count, like a case:
``python -m numperf.calibrate FAMILY THREADS BACKEND RESULT.json``. The child limits BLAS to the
thread count, calls the family's calibration and writes its rates with the host's metadata.
"""

from __future__ import annotations

import json
import os
import sys

from numperf import family, metadata

SCHEMA = "numperf.calibration/2"


def calibrate(family_name: str, threads: int, backend: str) -> dict:
    """Measure one family's rates for one backend and thread count."""
    import numpy  # noqa: F401 - load BLAS first: threadpool_limits only limits libraries already loaded
    from threadpoolctl import threadpool_info, threadpool_limits

    fam = family.get(family_name)
    with threadpool_limits(limits=threads, user_api="blas"):
        measured = fam.calibrate(threads)
        info = threadpool_info()
    return {
        "schema": SCHEMA, "family": fam.name, "host_id": metadata.host_id(), "backend": backend,
        "threads": threads, **measured, "threadpool_info": info, "host": metadata.host_info(),
        "env": metadata.blas_env(), "scheduler": metadata.scheduler_info(),
        "load_average": metadata.load_average(),
    }


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``python -m numperf.calibrate FAMILY THREADS BACKEND RESULT.json``."""
    name, threads, backend, out = (argv if argv is not None else sys.argv[1:])[:4]
    result = calibrate(name, int(threads), backend)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1, default=float)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
