"""Snakemake script of rule `case_list`: write one batch's case list (cases from common.smk)."""

from numperf import config

config.write_case_file(snakemake.params.cases, snakemake.output[0])  # noqa: F821 - set by Snakemake
