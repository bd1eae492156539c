# Tables -> one figure per entry of numperf.plotting.FIGURES for the configured families (PNG for
# the report, SVG beside it).


localrules:
    figure,


rule figure:
    input:
        rules.aggregate.output.tables,
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=lambda wildcards: plotting.FIGURES[wildcards.figure].category,
            labels=lambda wildcards: {"figure": wildcards.figure},
        ),
        svg="results/figures/{figure}.svg",
    params:
        caption=lambda wildcards: plotting.FIGURES[wildcards.figure].caption,
    log:
        "results/logs/figure_{figure}.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf figure {wildcards.figure:q} --tables results/tables"
        " --png {output.png:q} --svg {output.svg:q} 2> {log:q}"
