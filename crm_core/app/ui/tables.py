"""Tables as pages show them: headers in the session's language, percentages, separators."""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit import dataframe_util

from crm_core.app.ui.language import lang, t
from crm_core.engine.config import currency as currency_symbol
from crm_core.engine.lru import LRU
from crm_core.present import i18n

# Columns that hold a fraction of 1 (0.2345) meant as a percentage (23.5%), by their crm_core
# name: ... rate / share / retention / conversion / pct, share_of ..., probabilities.
_SHARE_COLUMN = re.compile(
    r"(?:^|_)(?:rate|share|retention|conversion|pct)$|^share_|^p_(?:alive|purchase)$|^lead_to_win$"
)


def is_share(column: Any) -> bool:
    """Whether a crm_core result column holds fractions meant as percentages."""
    return bool(_SHARE_COLUMN.search(str(column)))


PERCENT_PLACES = 3  # fractions to 3 places: percentages with one decimal
# Numbers that are labels, not quantities: never shown with thousands separators.
_LABEL_NUMBER = re.compile(r"(?:^|_)(?:id|year|no|code)$")


def needs_separators(column: Any, values: pd.Series) -> bool:
    """Whether a numeric table column is a quantity large enough (some |value| >= 1,000) to be
    shown with thousands separators (1,234,567.5); shares, ids and years never are."""
    if is_share(column) or _LABEL_NUMBER.search(str(column)):
        return False
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    # On the values as floats (missing as NaN, never >= 1000): what (values.abs() >= 1000).any()
    # says, without building two Series per column on every render.
    magnitudes = np.abs(values.to_numpy(dtype="float64", na_value=np.nan))
    return bool((magnitudes >= 1000).any())


def percent_column(**kwargs: Any) -> Any:
    """A st.dataframe column of fractions shown as percentages with one decimal (0.2345 -> 23.5%).
    Streamlit truncates a value to the column's step (0.00898 would show as 0.8%): round the
    shown values to PERCENT_PLACES first, and keep the unrounded frame for downloads."""
    return st.column_config.NumberColumn(format="percent", step=10**-PERCENT_PLACES, **kwargs)


def table(
    df: pd.DataFrame,
    label: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """st.dataframe of `df` as `label(df)` shows it (headers, category names in the session's
    language; same columns in the same order): missing values as "–" instead of None / NaN /
    <NA>, share columns (is_share) as percentages, large quantities with thousands separators.
    Returns the shown frame, values and types unchanged, for the CSV / Excel downloads."""
    shown = label(df) if label else df
    currency = currency_symbol(lang())
    key = _content_key(df, shown, currency)
    prepared = _PREPARED.get(key) if key is not None else None
    if prepared is None:
        config, display = shown_formats(df, shown, currency)
        # The Arrow table st.dataframe would make of `display` (the same function): a rerun or
        # another session showing the same frame in the same formats gets it ready.
        prepared = config, dataframe_util.convert_pandas_df_to_arrow_table(display)
        if key is not None:
            _PREPARED.put(key, prepared)
    config = {**prepared[0], **(kwargs.pop("column_config", None) or {})}
    kwargs.setdefault("hide_index", True)
    # hide_index=None would let st.dataframe look at the pandas index: give it the frame then.
    data = prepared[1] if kwargs["hide_index"] is not None else rounded(shown, _shares(df, shown))
    st.dataframe(data, placeholder=i18n.MISSING, column_config=config, **kwargs)
    return shown


def _shares(df: pd.DataFrame, shown: pd.DataFrame) -> list[Any]:
    names = dict(zip(df.columns, shown.columns, strict=True))
    return [names[c] for c in df.columns if is_share(c) and pd.api.types.is_numeric_dtype(df[c])]


def shown_formats(
    df: pd.DataFrame, shown: pd.DataFrame, currency: str
) -> tuple[dict[Any, Any], pd.DataFrame]:
    """The column config `table` gives the frame `shown` (= label(df)): share columns as
    percentages, large quantities with separators, money / hours / days in their format with
    `currency`; and the frame it displays (share columns rounded to PERCENT_PLACES)."""
    names = dict(zip(df.columns, shown.columns, strict=True))
    shares = _shares(df, shown)
    config = {c: percent_column() for c in shares}
    config |= {
        names[c]: st.column_config.NumberColumn(format="localized")
        for c in df.columns
        if needs_separators(c, df[c])
    }
    config |= {
        names[c]: st.column_config.NumberColumn(format=fmt)
        for c in df.columns
        if not is_share(c)
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
        and (fmt := i18n.number_format(c, currency))
    }
    return config, rounded(shown, shares)


PREPARED_TABLES = 256
PREPARED_TABLE_BYTES = 64_000_000  # bounded memory: the app's peak RSS has a target too
# The tables `table` prepared most recently, by content key: (column config, Arrow table).
_PREPARED: LRU[bytes, tuple[dict[Any, Any], Any]] = LRU(
    PREPARED_TABLES, PREPARED_TABLE_BYTES, lambda prepared: prepared[1].nbytes
)
# Larger frames are prepared on every run: their key would cost about what it saves.
PREPARED_MAX_BYTES = 4_000_000


def _content_key(df: pd.DataFrame, shown: pd.DataFrame, currency: str) -> bytes | None:
    """A digest of everything `table` makes of (df, shown) besides the caller's own column
    config: both frames as pickled (values, types, index, headers, attrs) and the currency; None
    for a frame that does not pickle or is too large to be worth it."""
    try:
        raw = pickle.dumps((currency, df, shown if shown is not df else None), protocol=5)
    except Exception:  # an object column pickle cannot write: prepared on every run
        return None
    if len(raw) > PREPARED_MAX_BYTES:
        return None
    return hashlib.blake2b(raw, digest_size=20).digest()


def rounded(df: pd.DataFrame, columns: list[Any], places: int = PERCENT_PLACES) -> pd.DataFrame:
    """`df.round(dict.fromkeys(columns, places))`: integer and float columns of those names
    rounded, the rest as they are, `df` unchanged. Only the rounded columns are made anew; the
    others are shared copy-on-write, where DataFrame.round rebuilds the whole frame."""
    wanted = set(columns)
    out = df.copy(deep=False)
    for i in (i for i, name in enumerate(df.columns) if name in wanted):
        col = df.iloc[:, i]
        if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_float_dtype(col.dtype):
            out.isetitem(i, col.round(places).array)
    return out


def headed(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The frame with each header from message `prefix.<column>` in the session's language."""
    return df.rename(columns=lambda c: t(f"{prefix}.{c}"))


def labelled_table(df: pd.DataFrame, prefix: str, **kwargs: Any) -> None:
    """A table (see `table`) with each header from message `prefix.<column>`."""
    table(df, lambda d: headed(d, prefix), **kwargs)
