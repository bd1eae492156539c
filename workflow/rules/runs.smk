# One job per process of a case and per calibration, each in its own fresh process, one at a
# time (the timing_lane resource), with honest cpu/memory/runtime requests for a cluster.
# A case's processes run in rounds (priority): every case's process 0, then every process 1...
# so slow drift over the sweep shows up as variation between a case's processes.


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
        f"{RECORD_ROOT}/{{backend}}/calibration/t{{threads}}.json",
    log:
        f"{RECORD_ROOT}/logs/calibrate_{{backend}}_t{{threads}}.log",
    params:
        host_id=HOST,
    threads: lambda wildcards: int(wildcards.threads)
    resources:
        mem_mb=1500,
        runtime=15,
        timing_lane=1,
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf calibrate --host-id {params.host_id:q} --backend {wildcards.backend:q} --threads {wildcards.threads:q}"
        " --allocated-cpus {threads} --out {output:q} 2> {log:q}"


localrules:
    record_skipped,


ruleorder: record_skipped > run_case


rule record_skipped:
    output:
        f"{RECORD_ROOT}/{{backend}}/records/{{case}}/p0.json",
    wildcard_constraints:
        case=SKIPPED,
    log:
        f"{RECORD_ROOT}/logs/{{backend}}/{{case}}/p0.log",
    params:
        args=lambda wildcards: case_of(wildcards).cli_args,
    resources:
        timing_lane=1,  # a short Python process, but never beside a timed one
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf run-case {params.args} --out {output:q} 2> {log:q}"


rule run_case:
    output:
        f"{RECORD_ROOT}/{{backend}}/records/{{case}}/p{{process}}.json",
    wildcard_constraints:
        case=MEASURED,
        process=r"\d+",
    log:
        f"{RECORD_ROOT}/logs/{{backend}}/{{case}}/p{{process}}.log",
    params:
        args=lambda wildcards: case_of(wildcards).cli_args,
    priority: lambda wildcards: config["processes"] - int(wildcards.process)
    threads: lambda wildcards: case_of(wildcards).spec.threads
    resources:
        mem_mb=lambda wildcards: case_of(wildcards).mem_mb,
        runtime=lambda wildcards: case_of(wildcards).runtime_min,
        timing_lane=1,
    conda:
        "../envs/numperf.yaml"
    shell:
        "numperf run-case {params.args} --process {wildcards.process} --allocated-cpus {threads}"
        " --out {output:q} 2> {log:q}"
