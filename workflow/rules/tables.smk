# Every record on disk (this host's and any copied in) -> tidy tables.


localrules:
    aggregate,


rule aggregate:
    input:
        batches=batch_manifests(),
        replication=replication(),
        calibration=local_calibrations(),
        copied=copied_records,
        host=[] if STORED_ONLY else rules.probe_host.output,
    output:
        tables=[
            report(
                f"results/tables/{table}.csv",
                caption="../report/table.rst",
                category="Tables",
                labels={"table": table},
            )
            for table in TABLES
        ],
        parquet="results/tables/runs.parquet",
    params:
        quarantine="--quarantine" if config["quarantine"] else "",
        baselines=" ".join(f"--baseline {shlex.quote(f'{k}={v}')}" for k, v in npconfig.baselines(config).items()),
        min_effect=config["min_effect"],
    log:
        "results/logs/aggregate.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf aggregate --results results --out results/tables {params.baselines} --min-effect {params.min_effect} {params.quarantine} 2> {log:q}"
