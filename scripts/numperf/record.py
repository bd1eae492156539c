"""Result records: their JSON schema, validation, and atomic writing of any output.

Every file numperf writes goes through ``atomic_write``: a temporary file in the same
directory, flushed and fsynced, then renamed over the target, so an interrupted run
never leaves a partial file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schemas") / "record.schema.json"
_UMASK = os.umask(0)
os.umask(_UMASK)


class RecordError(ValueError):
    """A result file that is unreadable or does not match the record schema."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w"):
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; results are meant to be shared
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj) -> None:
    """Atomically write ``obj`` as indented JSON."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=1, sort_keys=False, default=float)
        fh.write("\n")


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def validation_errors(record) -> list[str]:
    """Human-readable schema violations of ``record`` (empty when valid)."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def load_record(path: str | os.PathLike) -> dict:
    """Read and validate one record; raise RecordError naming the path and the problem."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(path, f"not readable as JSON ({exc})") from None
    if not isinstance(record, dict) or not str(record.get("schema", "")).startswith("numperf.case/"):
        raise RecordError(path, "not a numperf case record (missing or foreign 'schema' field)")
    from numperf import RECORD_SCHEMA

    if record["schema"] != RECORD_SCHEMA:
        raise RecordError(path, f"written by another numperf version (schema {record['schema']}, this "
                          f"numperf reads {RECORD_SCHEMA}); re-run the case or remove the file")
    errors = validation_errors(record)
    if errors:
        raise RecordError(path, "schema violation: " + "; ".join(errors[:5]))
    return record
