"""Command-line options derived from declarations: the config schema's properties (defaults, types,
bounds) become argparse options, through one type factory whose errors name the value and what is
allowed; family commands use the same factory for their own options."""

from __future__ import annotations

import argparse
import functools
import math
import operator

#: Options of the CLI that the config schema has no key for, declared the same way, so that the
#: same type factory parses and bounds them.
CLI_ONLY_OPTIONS = {
    "process": {"type": "integer", "minimum": 0, "default": 0},
    "mem_budget_mb": {"type": "number", "minimum": 0, "default": 0},
    "mem_limit_mb": {"type": "number", "minimum": 0, "default": 0},
    "allocated_cpus": {"type": "integer", "minimum": 1},
}
_KIND_WORDS = {"integer": "a whole number", "number": "a finite number", "boolean": "true or false",
               "string": "a string"}
_BOUNDS = (("minimum", ">=", operator.ge), ("exclusiveMinimum", ">", operator.gt),
           ("maximum", "<=", operator.le), ("exclusiveMaximum", "<", operator.lt))


@functools.cache
def _schema_properties() -> dict:
    """The config schema's top-level properties: the single source of the run options' defaults,
    types and bounds (``numperf.config`` validates configs against the same file)."""
    import yaml

    from numperf import config

    return yaml.safe_load(config.SCHEMA_PATH.read_text())["properties"]


def option_property(key: str) -> dict:
    """The schema property behind option ``--<key>``: the config key of that name; for ``threads``
    and ``backend`` one item of the config's list (its first default); else ``CLI_ONLY_OPTIONS``."""
    props = _schema_properties()
    if key == "threads":
        return {**props["threads"]["items"], "default": props["threads"]["default"][0]}
    if key == "backend":
        return {**props["backends"]["items"], "default": props["backends"]["default"][0]}
    return props[key] if key in props else CLI_ONLY_OPTIONS[key]


def kind_of(prop: dict) -> str:
    """The JSON-schema type of a property, ``null`` aside (``[integer, "null"]`` is an integer)."""
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    return next(k for k in kinds if k != "null")


def _number(value: float) -> str:
    """A bound as written: 1000000, not 1e+06; 0.05, not 0.050000."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe(prop: dict) -> str:
    """What a schema property allows, in words: ``a whole number >= 1 and <= 1000``."""
    if "enum" in prop:
        return "one of " + ", ".join(map(str, prop["enum"]))
    bounds = [f"{op} {_number(prop[key])}" for key, op, _ in _BOUNDS if key in prop]
    return _KIND_WORDS[kind_of(prop)] + (" " + " and ".join(bounds) if bounds else "")


def _parse_bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0"):
        raise ValueError(text)
    return text.lower() in ("true", "1")


def schema_type(prop: dict, parse_only: bool = False):
    """An argparse type built from a JSON-schema property (``type``, ``enum``, ``minimum``,
    ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``): it parses the text as that type and
    refuses, naming the value and what is allowed, what the schema would refuse in a config
    (argparse adds the option's name). ``parse_only`` checks the type alone, for values whose
    declaration checks the rest in its own words (a family's parameters)."""
    kind = kind_of(prop)
    parse = {"integer": int, "number": float, "boolean": _parse_bool, "string": str}[kind]
    allowed = describe(prop)

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or (kind == "number" and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is not {_KIND_WORDS[kind]}; allowed: {allowed}")
        if parse_only:
            return value
        if "enum" in prop and value not in prop["enum"]:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: {allowed}")
        if not all(check(value, prop[key]) for key, _, check in _BOUNDS if key in prop):
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: {allowed}")
        return value

    convert.__name__ = kind  # what argparse calls the type in its own messages
    return convert


def add_option(p, key: str, text: str, **kw) -> None:
    """Option ``--<key>`` (underscores as dashes) with the type, bounds and default of its schema
    property; the help says what is allowed and the default (``default_text`` where it is none)."""
    prop = option_property(key)
    kind = kind_of(prop)
    default = None if kw.get("required") else prop.get("default")
    kw["default"] = float(default) if kind == "number" and default is not None else default
    shown = kw.pop("default_text", None) or kw["default"]
    extra = f"allowed: {describe(prop)}"
    if not kw.get("required") and shown is not None:
        extra += f"; default {shown}"
    p.add_argument("--" + key.replace("_", "-"), type=schema_type(prop), metavar=kind.upper(),
                   help=f"{text}; {extra}".replace("%", "%%"), **kw)
