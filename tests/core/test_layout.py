"""The core knows no family: no module outside ``numperf.families`` names a method, a parameter or
a dtype of any family, and no file of the package is longer than the project allows."""

from __future__ import annotations

import ast
from pathlib import Path

from numperf import family

PACKAGE = Path(__file__).resolve().parents[2] / "scripts"
MAX_LINES = 600


def _family_names() -> set[str]:
    names: set[str] = set()
    for fam in family.registry().values():
        names |= set(fam.methods) | set(fam.param_names) | set(fam.dtypes)
    return names


def test_no_core_module_names_a_family_detail():
    names = _family_names()
    found = []
    for path in sorted((PACKAGE / "numperf").rglob("*.py")):
        if "families" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert not found, "the core names family details:\n" + "\n".join(found)


def test_no_file_is_too_long():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_a_check_that_can_fail():
    """The detail check sees a family's method name in a string constant."""
    tree = ast.parse('x = "gemm_trick"')
    assert any(isinstance(n, ast.Constant) and n.value in _family_names() for n in ast.walk(tree))
