# Tables -> the run's key findings (RST), shown first in the report (report/workflow.rst includes it).


localrules:
    findings,


rule findings:
    input:
        rules.aggregate.output.tables,
    output:
        report(
            "results/key_findings.rst",
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        "results/logs/findings.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf findings --tables results/tables --out {output:q} 2> {log:q}"
