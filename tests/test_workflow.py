"""Compatibility only: the workflow tests moved to tests/workflow/test_workflow.py and their
``snakemake`` helper to tests/conftest.py. tests/core/test_claims.py (another owner's file) still
imports it from here; delete this module once it imports ``from tests.conftest``."""

from tests.conftest import SNAKEMAKE, snakemake

__all__ = ["SNAKEMAKE", "snakemake"]
