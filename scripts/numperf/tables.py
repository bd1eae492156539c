"""The aggregated tables as the analysis reads them: loading them from a results folder, their ok
rows, and their CSV booleans. Every reader (figures, claims, findings) uses these."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Every table ``numperf aggregate`` writes (results/tables/<name>.csv).
TABLES = ("runs", "speedup", "scaling", "memory", "dtype", "failures", "hosts", "quarantine")


def load(tables_dir: str | Path, names=TABLES, required=("runs",)) -> dict[str, pd.DataFrame]:
    """The tables ``names`` from ``tables_dir`` by name. A missing ``required`` one is an error naming
    the file; any other missing or empty one is an empty frame."""
    tables_dir = Path(tables_dir)
    missing = [str(tables_dir / f"{t}.csv") for t in required if not (tables_dir / f"{t}.csv").exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing "
                                "(run `numperf aggregate` first)")
    out = {}
    for name in dict.fromkeys([*names, *required]):
        path = tables_dir / f"{name}.csv"
        try:
            out[name] = pd.read_csv(path) if path.exists() else pd.DataFrame()
        except pd.errors.EmptyDataError:
            out[name] = pd.DataFrame()
    return out


#: How a CSV spells a true boolean (written by pandas as True, or as 1 / 1.0 by a numeric column).
TRUE_TEXTS = ("true", "1", "1.0")


def _one(value) -> bool:
    return str(value).strip().lower() in TRUE_TEXTS


def as_bool(series_or_value):
    """A CSV boolean (True/False, 'True'/'False', 1/0) as a plain bool, anything else (blank, NaN,
    None) False; a Series element-wise, as a bool Series."""
    if isinstance(series_or_value, pd.Series):
        return series_or_value.map(_one).astype(bool)
    return _one(series_or_value)


def ok_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows that measured a time (status ok), ``noisy`` as bool where present, with the pairing
    keys of their processes (none for tables written before processes were paired)."""
    if runs is None or runs.empty or "status" not in runs:
        return pd.DataFrame() if runs is None else runs.iloc[0:0]
    ok = runs[(runs["status"] == "ok") & runs["time_median_s"].notna()].copy()
    for col in ("time_process_keys", "time_process_samples_s"):
        if col not in ok:  # tables written before processes were paired
            ok[col] = None
    if "noisy" in ok:
        ok["noisy"] = as_bool(ok["noisy"]).to_numpy()
    return ok
