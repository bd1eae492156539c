# Tables -> the seeds' claims decided for this run (CSV, and RST shown first in the report).


localrules:
    claims,


rule claims:
    input:
        rules.aggregate.output.tables,
    output:
        table=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Tables",
            labels={"table": "claims"},
        ),
        page=report(
            "results/claims.rst",
            caption="../report/claims.rst",
            category="Claims",
        ),
    params:
        min_effect=config["min_effect"],
    log:
        "results/logs/claims.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf claims --tables results/tables --out {output.table:q} --rst {output.page:q}"
        " --min-effect {params.min_effect} 2> {log:q}"
