"""The distance methods: every module in this package that defines ``METHODS`` (a list of
``numperf.family.Method``) adds them, in the order of its ``ORDER`` number, then of its name.

Adding a method is adding one module here (kernel, memory model and flop count, built with
``numperf.families.distances.method.distance_method``); the family, the config schema, the CLI
and every table then know it, and a config that names it (or a block that lists no methods)
runs it.
"""

from __future__ import annotations

import importlib
import pkgutil

from numperf.family import Method


def discover() -> dict[str, Method]:
    """Every method of the modules of this package, by name, in display order."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)
               if not info.name.startswith("_")]
    out: dict[str, Method] = {}
    for module in sorted(modules, key=lambda mod: (getattr(mod, "ORDER", 100), mod.__name__)):
        for method in getattr(module, "METHODS", []):
            if method.name in out:
                raise RuntimeError(f"distance method {method.name!r} is declared twice ({module.__name__})")
            out[method.name] = method
    return out


METHODS = discover()
