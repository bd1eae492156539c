# config -> cases -> runs. One job per batch (backend, family, thread count) and process round,
# one at a time (the timing_lane resource), each case in its own fresh child process. Rounds run
# in order (priority): every case's process 0, then every process 1... so slow drift over the
# sweep shows up as variation between a case's processes.


rule probe_host:
    params:
        host_id=HOST,
    output:
        f"{RECORD_ROOT}/host.json",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
        timing_lane=1,  # it starts every backend's interpreter: never beside a timed job
    log:
        f"{RECORD_ROOT}/logs/probe_host.log",
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf probe --host-id {params.host_id:q} --out {output:q} 2> {log:q}"


rule calibrate:
    output:
        f"{RECORD_ROOT}/{{backend}}/calibration/{{family}}/t{{threads}}.json",
    log:
        f"{RECORD_ROOT}/logs/calibrate_{{family}}_{{backend}}_t{{threads}}.log",
    params:
        host_id=HOST,
        code=CODE_DIGEST,
    threads: lambda wildcards: int(wildcards.threads)
    resources:
        mem_mb=1500,
        runtime=15,
        timing_lane=1,
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf calibrate --host-id {params.host_id:q} --family {wildcards.family:q} --backend {wildcards.backend:q}"
        " --threads {wildcards.threads:q}"
        " --allocated-cpus {threads} --out {output:q} 2> {log:q}"


localrules:
    case_list,


rule case_list:
    output:
        f"{RECORD_ROOT}/{{backend}}/cases/{{batch}}.json",
    log:
        f"{RECORD_ROOT}/logs/{{backend}}/cases_{{batch}}.log",
    params:
        cases=lambda wildcards: [c.to_json() for c in batch_cases(wildcards)],
    conda:
        "../envs/numperf.yaml"
    script:
        "../../scripts/write_cases.py"


rule run_batch:
    input:
        cases=rules.case_list.output,
    output:
        f"{RECORD_ROOT}/{{backend}}/batches/{{batch}}_p{{process}}.json",
    log:
        f"{RECORD_ROOT}/logs/{{backend}}/{{batch}}_p{{process}}.log",
    params:
        host_id=HOST,
        code=CODE_DIGEST,
        ledger=PROGRESS_LEDGER,
    priority: lambda wildcards: config["processes"] - int(wildcards.process)
    threads: lambda wildcards: batch_cases(wildcards)[0].spec.threads
    resources:
        mem_mb=lambda wildcards: max(c.mem_mb for c in round_cases(wildcards)),
        runtime=lambda wildcards: batch_runtime_min(round_cases(wildcards)),
        timing_lane=1,
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf run-batch --cases {input.cases:q} --process {wildcards.process} --allocated-cpus {threads}"
        " --host-id {params.host_id:q} --out {output:q} --progress {params.ledger:q}"
        " 2> {log:q}"


rule replicate:
    input:
        cases=case_lists(),
        batches=batch_manifests(),
    output:
        f"{RECORD_ROOT}/replication.json",
    log:
        f"{RECORD_ROOT}/logs/replicate.log",
    params:
        host_id=HOST,
        code=CODE_DIGEST,
        target=config["target_resolution"],
        budget=config["replication_budget_s"],
        min_effect=config["min_effect"],
    threads: max(ALL_THREADS, default=1)
    resources:
        mem_mb=lambda wildcards: max([c.mem_mb for c in CASES.values()], default=500),
        runtime=lambda wildcards: int(config["replication_budget_s"] / 60) + 5,
        timing_lane=1,
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf replicate --cases {input.cases:q} --out {output:q} --target-resolution {params.target}"
        " --replication-budget-s {params.budget} --min-effect {params.min_effect} --allocated-cpus {threads}"
        " --host-id {params.host_id:q} 2> {log:q}"
