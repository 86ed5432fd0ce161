"""Compare crm_core results across engines: floats within 1e-9 relative, frames order-insensitive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

REL = 1e-9


def normalize(x: Any) -> Any:
    """Plain Python data: frames become {"columns", "rows"}, numbers float/int, dates ISO text."""
    if isinstance(x, pd.DataFrame):
        cols = [str(c) for c in x.columns]
        rows = [tuple(normalize(v) for v in r) for r in x.astype(object).itertuples(index=False)]
        return {"__frame__": cols, "rows": rows}
    if isinstance(x, pd.Series):
        return [normalize(v) for v in x.astype(object).tolist()]
    if isinstance(x, pd.Index):
        return [normalize(v) for v in x.tolist()]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: normalize(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): normalize(v) for k, v in x.items()}
    if isinstance(x, list | tuple | np.ndarray):
        return [normalize(v) for v in list(x)]
    if x is None or x is pd.NaT or x is pd.NA:
        return None
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating | Decimal):
        f = float(x)
        return None if math.isnan(f) else f
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    if isinstance(x, dt.datetime | dt.date):
        return x.isoformat()
    if isinstance(x, pd.Timedelta | dt.timedelta | np.timedelta64):
        return pd.Timedelta(x).total_seconds()
    if hasattr(x, "to_plotly_json"):
        return "<figure>"
    return x


def _key(v: Any) -> tuple:
    if v is None:
        return (0, "")
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, int | float):
        return (1, float(f"{v:.9g}"))
    return (2, str(v))


def diff(a: Any, b: Any, path: str = "", rel: float = REL) -> list[str]:
    """Where `a` and `b` (normalized) differ; [] when equal within `rel`."""
    if isinstance(a, dict) and isinstance(b, dict):
        if "__frame__" in a and "__frame__" in b:
            if a["__frame__"] != b["__frame__"]:
                return [f"{path}: columns {a['__frame__']} != {b['__frame__']}"]
            if len(a["rows"]) != len(b["rows"]):
                return [f"{path}: {len(a['rows'])} rows != {len(b['rows'])}"]
            ra = sorted(a["rows"], key=lambda r: tuple(_key(v) for v in r))
            rb = sorted(b["rows"], key=lambda r: tuple(_key(v) for v in r))
            out: list[str] = []
            for i, (x, y) in enumerate(zip(ra, rb, strict=True)):
                out += diff(list(x), list(y), f"{path}[row {i}]", rel)
                if len(out) > 5:
                    break
            return out
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in diff(a[k], b[k], f"{path}.{k}", rel)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in diff(x, y, f"{path}[{i}]", rel)
        ]
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if a == b or math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
