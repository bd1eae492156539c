# Configured (host, backend) comparisons: per-case time ratios with between-process intervals.


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
        min_effect=config["min_effect"],
    log:
        "results/logs/compare_{comparison}.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf compare --results results {params.args} --min-effect {params.min_effect}"
        " --out {output.table:q} --summary {output.summary:q} > {log:q} 2>&1"
