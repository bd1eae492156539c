"""Experiment families: the unit of extension, declared once and discovered.

A family is one module in ``numperf.families`` (or a small package) that defines ``FAMILY``, a
``Family``: its parameters (the axes of its cases besides dtype, threads and backend), the dtypes it
accepts, how to build its inputs outside the timed region, its methods (kernel, memory model, work
count, optional requirement, skip rule) and its correctness check. The same module may define
``figures()`` and ``claims()``, returning its figure and claim declarations; they are called only by
the analysis side, so a measuring child never imports pandas or matplotlib.

The core (case spec, runner, child, measurement, records, aggregation, workflow) reads only what is
declared here: the config schema's family blocks, the CLI, the case id and the ``p_<name>`` columns
of ``runs.csv`` all come from ``Family.params``. Imports: stdlib only (numpy where a family needs it).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Package whose modules are the families (every module there that defines FAMILY is one).
FAMILIES_PACKAGE = "numperf.families"
PARAM_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


class Skip(Exception):
    """Raised by a family's setup or kernel factory when a case cannot run here; the message is the
    reason (e.g. ``no_compiler: cc not found``). The case becomes a ``skipped`` row, not an error."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a family's cases: its name, type, default and allowed values.

    ``choices`` (a tuple) restricts the values; ``minimum``/``maximum`` bound numbers. ``default`` is
    the value (or list of values) a config block gets when it does not name the parameter.
    """

    name: str
    kind: str  #: "int", "float", "str" or "bool"
    default: Any
    description: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None

    def problem(self, value) -> str | None:
        """Why ``value`` is not allowed (naming what is), or None."""
        want = PARAM_KINDS[self.kind]
        ok_type = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok_type = True
        if not ok_type:
            article = "an" if self.kind == "int" else "a"
            return f"{value!r} is not {article} {self.kind}; allowed: {self._allowed()}"
        if self.choices is not None and value not in self.choices:
            return f"{value!r} is not allowed; allowed: {', '.join(map(str, self.choices))}"
        low = self.minimum is not None and value < self.minimum
        if low or (self.maximum is not None and value > self.maximum):
            return f"{value!r} is out of range; allowed: {self._allowed()}"
        return None

    def _allowed(self) -> str:
        if self.choices is not None:
            return ", ".join(map(str, self.choices))
        return self.kind + "".join(f" {op} {b:g}" for op, b in ((">=", self.minimum), ("<=", self.maximum))
                                   if b is not None)

    def schema(self) -> dict:
        """JSON schema of the parameter's value (one value)."""
        kind = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}[self.kind]
        out: dict = {"type": kind, "description": self.description}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class MemoryModel:
    """Predicted bytes of one call: inputs, transient intermediates and the result."""

    input_bytes: int
    intermediate_bytes: int
    output_bytes: int

    @property
    def peak_bytes(self) -> int:
        """Everything alive at the worst moment, inputs included (the seed's 'peak')."""
        return self.input_bytes + self.intermediate_bytes + self.output_bytes

    @property
    def kernel_peak_bytes(self) -> int:
        """Bytes the call adds above the caller's baseline (what peak RSS measures)."""
        return self.intermediate_bytes + self.output_bytes

    def as_dict(self) -> dict:
        return {"input_bytes": int(self.input_bytes), "intermediate_bytes": int(self.intermediate_bytes),
                "output_bytes": int(self.output_bytes), "peak_bytes": int(self.peak_bytes),
                "kernel_peak_bytes": int(self.kernel_peak_bytes)}


@dataclass(frozen=True)
class Method:
    """One way of doing a family's computation, with its models.

    ``kernel(inputs, threads=..., **options)`` is what is timed; ``inputs`` is whatever the family's
    ``setup`` returned. ``memory(params, dtype, options)`` predicts the bytes of one call,
    ``flops(params, dtype)`` and ``bytes_moved(params, dtype)`` count its work (None: not meaningful).
    ``skip(params, dtype)`` returns a reason when this method must not run a case (decided in the
    parent, before any process starts); ``requires`` names an optional importable package.
    ``options`` are the method's own tuning parameters (``method_params`` in the config);
    ``resolve(options, params, dtype)`` fills automatic ones.
    """

    name: str
    kernel: Callable[..., Any]
    memory: Callable[[dict, str, dict], MemoryModel]
    description: str
    flops: Callable[[dict, str], float | None] = lambda params, dtype: None
    bytes_moved: Callable[[dict, str], float | None] = lambda params, dtype: None
    requires: str | None = None
    skip: Callable[[dict, str], str | None] = lambda params, dtype: None
    options: tuple[Param, ...] = ()
    resolve: Callable[[dict, dict, str], dict] | None = None

    def available(self) -> bool:
        """True when the optional package this method needs can be imported."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def resolve_options(self, options: dict | None, params: dict, dtype: str) -> dict:
        """The method's options with defaults filled in (unknown keys dropped)."""
        known = {p.name: p.default for p in self.options}
        out = {**known, **{k: v for k, v in (options or {}).items() if k in known}}
        return self.resolve(out, params, dtype) if self.resolve else out


@dataclass(frozen=True)
class Check:
    """What a family's check found about one call's result.

    ``max_abs_error``/``max_rel_error`` against the family's reference (None where not numeric);
    ``failed`` is the reason the result is wrong (the case becomes ``invalid``), None when right;
    ``facts`` are named observations that become ``check_<name>`` columns (``returns_view``...).
    """

    max_abs_error: float | None = None
    max_rel_error: float | None = None
    failed: str | None = None
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """An experiment family, declared once.

    ``setup(params, dtype, rng, method)`` builds the inputs outside the timed region, only those the
    method reads where methods differ (``method=None``: all of them; raise ``Skip`` to skip);
    ``check(method, result, inputs, params, dtype, rng)`` returns a ``Check``. ``baseline`` is the
    method every other is compared with in ``speedup.csv``. ``grid`` lists the points of the default
    sweep (dicts of parameter values, crossed with every parameter given as a list in the block).
    """

    name: str
    description: str
    seeds: tuple[str, ...]
    params: tuple[Param, ...]
    dtypes: tuple[str, ...]
    methods: dict[str, Method]
    setup: Callable[[dict, str, Any, str | None], Any]
    check: Callable[[str, Any, Any, dict, str, Any], Check]
    baseline: str | None = None
    #: methods not run unless a config names them (e.g. slow or diagnostic ones)
    optional_methods: tuple[str, ...] = ()
    #: fills derived parameters of a case (e.g. m = n when 0); identity by default
    normalize: Callable[[dict], dict] = lambda params: params
    #: ``calibrate(threads)`` measures this machine's rates in a child (BLAS already limited to
    #: ``threads``) and returns them with any detail; the workflow runs it per backend and thread
    #: count only when a configured block of this family asks for it. None: no calibration.
    calibrate: Callable[[int], dict] | None = None
    #: the keys of ``calibrate``'s result that are rates (higher is better; the best over the
    #: backends of a host is the machine's)
    rates: tuple[str, ...] = ()
    #: ``floor(params, dtype, rates)``: the machine's floor for a case in seconds, from the best
    #: calibrated ``rates``; None: no floor
    floor: Callable[[dict, str, dict], float] | None = None
    #: pairs of dtypes whose times and errors ``dtype.csv`` compares per case (second / first)
    dtype_pairs: tuple[tuple[str, str], ...] = ()
    #: methods that compute exactly what ``baseline`` does, by the same code (an A/A twin): their
    #: ratio to it must come out equivalent or inconclusive (``make stability`` counts those that do not)
    twins: tuple[str, ...] = ()
    #: True when ``setup`` builds the same inputs whatever the method: a process that interleaves the
    #: methods of a point then builds them once and every method reads the very same arrays (same
    #: pages, same alignment), so their ratio carries no difference of memory placement
    shared_setup: bool = False
    #: methods that are ``baseline`` plus a known extra cost, as {method: relative effect}: their
    #: ratio to it must be found slower (``make stability`` counts how often it is)
    planted: dict = field(default_factory=dict)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def method(self, name: str) -> Method:
        try:
            return self.methods[name]
        except KeyError:
            raise ValueError(f"family {self.name}: unknown method {name!r}; known: "
                             f"{', '.join(self.methods)}") from None


_REGISTRY: dict[str, Family] = {}
_MODULES: dict[str, Any] = {}


def _discover() -> None:
    if _REGISTRY:
        return
    package = importlib.import_module(FAMILIES_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{FAMILIES_PACKAGE}.{info.name}")
        fam = getattr(module, "FAMILY", None)
        if isinstance(fam, Family):
            if fam.name in _REGISTRY:
                raise RuntimeError(f"two families are named {fam.name!r}")
            _REGISTRY[fam.name] = fam
            _MODULES[fam.name] = module


def registry() -> dict[str, Family]:
    """Every family found in ``numperf.families``, by name (alphabetical)."""
    _discover()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Family:
    """A family by name; the error lists the known ones."""
    fams = registry()
    try:
        return fams[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known families: {', '.join(fams)}") from None


def module(name: str):
    """The module that declares family ``name`` (for its ``figures()`` and ``claims()``)."""
    get(name)
    return _MODULES[name]


def declared(kind: str, names=None) -> list:
    """Every family's (or those ``names``) ``figures()``, ``claims()`` or ``commands()``
    declarations, in family order."""
    out = []
    for name in registry() if names is None else [get(n).name for n in names]:
        fn = getattr(_MODULES[name], kind, None)
        out += list(fn()) if fn else []
    return out


def run_inline(family: str, method: str, params: dict, dtype: str, threads: int = 1,
               options: dict | None = None, seed: int = 0):
    """Set up, call and check one case in this process (for tests; no timing): (result, Check)."""
    import numpy as np

    fam = get(family)
    meth = fam.method(method)
    rng = np.random.default_rng(seed)
    full = {p.name: p.default for p in fam.params if not isinstance(p.default, list)}
    full = fam.normalize({**full, **params})
    inputs = fam.setup(full, dtype, rng, method)
    result = meth.kernel(inputs, threads=threads, **meth.resolve_options(options, full, dtype))
    return result, fam.check(method, result, inputs, full, dtype, rng)


@dataclass(frozen=True)
class FigureDecl:
    """A figure a family declares: ``draw(tables, fig)`` gets the family's rows of every table (its
    parameters as plain columns, see ``aggregate.family_view``) and returns ``(legend_handles,
    shown_runs_rows)`` like every numperf figure; the caption is one line. ``topic`` groups a
    family's figures in the report (its subcategory)."""

    name: str
    title: str
    caption: str
    draw: Callable[[dict, Any], tuple]
    topic: str = ""


@dataclass(frozen=True)
class Command:
    """A subcommand a family adds to the CLI (``numperf <name>``), returned by its module's
    ``commands()``: ``add_arguments(parser)`` declares its options, ``run(args)`` returns the exit
    status. The core CLI adds every family's commands; it knows none of them."""

    name: str
    help: str
    add_arguments: Callable[[Any], None]
    run: Callable[[Any], int]
    description: str = ""
