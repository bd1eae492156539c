# Configured (host, backend) comparisons: per-case time ratios with bootstrap intervals.


localrules:
    compare,


rule compare:
    input:
        rules.aggregate.output.tables,
    output:
        table=report(
            "results/tables/compare/{comparison}.csv",
            caption="../report/compare.rst",
            category="Comparisons",
            subcategory=lambda wildcards: wildcards.comparison,
            labels=lambda wildcards: {"comparison": wildcards.comparison},
        ),
        summary="results/tables/compare/{comparison}.json",
    params:
        args=lambda wildcards: COMPARISONS[wildcards.comparison],
    log:
        "results/logs/compare_{comparison}.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf compare --results results {params.args}"
        " --out {output.table:q} --summary {output.summary:q} 2> {log:q}"
