"""A chart as a page shows it: its plotly JSON with the house hovers and escaped data strings,
built once per chart inputs and language for every session of the process (a bounded cache)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from crm_core.present.charts.base import hover_updates
from crm_core.present.text import escape_spec


def page_spec(fig: go.Figure, lang: str) -> dict[str, Any]:
    """`fig` as a page shows it, as plotly JSON values (what st.plotly_chart sends): the
    figure of text.safe_figure(localise_hovers(fig, lang)), made from one fig.to_dict() instead
    of two validated copies of the figure. `fig` is not changed."""
    updates = hover_updates(fig, lang)
    spec = fig.to_dict()
    for i, custom, template in updates:
        spec["data"][i]["customdata"] = custom
        spec["data"][i]["hovertemplate"] = template
    escape_spec(spec)
    return dict(json.loads(pio.to_json(spec, validate=False)))


class ShownFigure(go.Figure):
    """A chart already made into its page_spec, handed to st.plotly_chart as it is.

    Streamlit reads a go.Figure through to_dict() and serialises that dict; here to_dict() is
    the prepared spec itself, so a render neither copies nor validates the figure again. Only
    that is a go.Figure about it (no traces or layout are built): `figure()` makes a real one,
    for an image export. The spec may be shared by every session: never change it."""

    def __init__(self, spec: dict[str, Any]) -> None:  # no BaseFigure.__init__: nothing built
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec

    def to_plotly_json(self) -> dict[str, Any]:
        return self._spec

    def figure(self) -> go.Figure:
        """A plotly figure of the spec (validated: a few ms), e.g. for an image export."""
        return go.Figure(copy.deepcopy(self._spec))

    def __repr__(self) -> str:
        return f"ShownFigure({len(self._spec.get('data', []))} traces)"


# --------------------------------------------------------------------------- the cache
# Keyed on the chart's builder, its inputs' content (data frames included) and the language:
# what a chart shows is a function of those alone (present never queries), so a session gets a
# cached chart only when its own inputs are the same, whatever its scope or filters.
MAX_CHARTS = 256  # about 10-20 kB of JSON a chart: a few MB at most


class _Charts:
    def __init__(self, size: int) -> None:
        self.size = size
        self.specs: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: bytes) -> dict[str, Any] | None:
        with self.lock:
            spec = self.specs.get(key)
            if spec is None:
                self.misses += 1
            else:
                self.hits += 1
                self.specs.move_to_end(key)
            return spec

    def put(self, key: bytes, spec: dict[str, Any]) -> None:
        with self.lock:
            self.specs[key] = spec
            self.specs.move_to_end(key)
            while len(self.specs) > self.size:
                self.specs.popitem(last=False)


_CHARTS = _Charts(MAX_CHARTS)


def cached_spec(
    build: Callable[..., go.Figure], args: tuple[Any, ...], kwargs: dict[str, Any], lang: str
) -> dict[str, Any]:
    """page_spec(build(*args, **kwargs), lang), built once per (build, inputs, lang) in this
    process (the MAX_CHARTS most recently used are kept). A `build` that is not a module-level
    function (a lambda, a closure: its name does not say what it draws) and inputs that cannot
    be fingerprinted (a function, a figure) build the chart every time. The spec is shared:
    never change it."""
    name = getattr(build, "__qualname__", "<none>")
    try:
        if "<" in name:
            raise TypeError(name)
        key = fingerprint((f"{build.__module__}.{name}", args, kwargs, lang))
    except TypeError:
        return page_spec(build(*args, **kwargs), lang)
    spec = _CHARTS.get(key)
    if spec is None:
        spec = page_spec(build(*args, **kwargs), lang)
        _CHARTS.put(key, spec)
    return spec


def cache_info() -> dict[str, int]:
    """The chart cache's size, bound, hits and misses (since the process started)."""
    with _CHARTS.lock:
        return {
            "charts": len(_CHARTS.specs),
            "max": _CHARTS.size,
            "hits": _CHARTS.hits,
            "misses": _CHARTS.misses,
        }


def clear_cache() -> None:
    """Forget every cached chart."""
    with _CHARTS.lock:
        _CHARTS.specs.clear()
        _CHARTS.hits = _CHARTS.misses = 0


def fingerprint(value: Any) -> bytes:
    """A digest of `value`'s content and types (data frames, series, arrays, dates, numbers,
    text, containers and dataclasses of those): equal digests for equal inputs (data frames:
    equal and laid out alike, as a cached result is on every read). TypeError for anything else
    (a function, a figure), which is not to be cached."""
    h = hashlib.blake2b(digest_size=20)
    _feed(h, value)
    return h.digest()


_SCALARS = (
    str,
    bytes,
    bool,
    int,
    float,
    complex,
    decimal.Decimal,
    dt.date,
    dt.time,
    dt.timedelta,
    pd.Timestamp,
    pd.Timedelta,
    np.generic,
)


def _feed(h: Any, v: Any) -> None:
    h.update(type(v).__qualname__.encode() + b"\x00")
    if v is None or v is pd.NA or v is pd.NaT:
        return
    if isinstance(v, _SCALARS):
        h.update(repr(v).encode() + b"\x01")
    elif isinstance(v, (list, tuple)):
        h.update(f"{len(v)}[".encode())
        for item in v:
            _feed(h, item)
    elif isinstance(v, dict):
        h.update(f"{len(v)}{{".encode())
        for k, item in v.items():
            _feed(h, k)
            _feed(h, item)
    elif isinstance(v, (set, frozenset)):
        h.update(b"".join(sorted(fingerprint(item) for item in v)))
    elif isinstance(v, (pd.DataFrame, pd.Series, pd.Index)):
        _pickled(h, v)
    elif isinstance(v, np.ndarray):
        _feed(h, (str(v.dtype), v.shape))
        if v.dtype == object:
            _feed(h, v.tolist())
        else:
            h.update(np.ascontiguousarray(v).tobytes())
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        for field in dataclasses.fields(v):
            _feed(h, field.name)
            _feed(h, getattr(v, field.name))
    else:
        raise TypeError(f"no fingerprint for {type(v).__qualname__}")


def _pickled(h: Any, v: pd.DataFrame | pd.Series | pd.Index) -> None:
    # The pickle of a frame holds its values, types, index, names and attrs, and equal pickles
    # load as equal frames: a tenth of hash_pandas_object's time for a chart's frame (it was 7 %
    # of a 20-session room's CPU). The same frame built the same way (a cached result read on
    # every render) pickles alike; one laid out otherwise may not, and is only drawn once more.
    try:
        raw = pickle.dumps(v, protocol=5)
    except Exception as e:  # an object column pickle cannot write
        raise TypeError(f"no fingerprint for this {type(v).__qualname__}") from e
    h.update(len(raw).to_bytes(8, "little"))
    h.update(raw)
