"""Reading numperf's tables back: values that a CSV round trip turned into text.

Analysis side (imports pandas): a measuring child never imports this module.
"""

from __future__ import annotations

import pandas as pd

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
