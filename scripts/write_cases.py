"""Snakemake script of rule `case_list`: write one batch's case list (cases from common.smk)."""

from numperf import config

cases = snakemake.params.cases  # noqa: F821 - set by Snakemake
config.write_case_file(cases, snakemake.output[0])  # noqa: F821
with open(snakemake.log[0], "w") as log:  # noqa: F821
    print(f"{len(cases)} cases written to {snakemake.output[0]}", file=log)  # noqa: F821
