"""Message catalogue (zh-CN / en) and number formatting; one table per feature in messages/."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
MISSING = "–"  # how a missing value is shown, in tables and tiles alike
_DIR = Path(__file__).resolve().parent / "messages"


class MissingMessage(KeyError):
    """A key that is not in the catalogue, or lacks one of the languages."""


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All messages: key -> {"zh": ..., "en": ...}, merged from messages/*.toml."""
    out: dict[str, dict[str, str]] = {}
    for f in sorted(_DIR.glob("*.toml")):
        with open(f, "rb") as fh:
            data = tomllib.load(fh)
        for key, texts in _flatten(data):
            if key in out:
                raise ValueError(f"message key {key!r} defined twice (second time in {f.name})")
            out[key] = texts
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, str]]]:
    items = []
    for k, v in data.items():
        if (
            isinstance(v, dict)
            and set(v) <= set(LANGS)
            and all(isinstance(x, str) for x in v.values())
        ):
            items.append((prefix + k, v))
        elif isinstance(v, dict):
            items += _flatten(v, f"{prefix}{k}.")
    return items


def t(key: str, lang: str = DEFAULT_LANG, **kwargs: Any) -> str:
    """The message `key` in `lang`, with {placeholders} filled from kwargs."""
    try:
        text = catalogue()[key][lang]
    except KeyError as e:
        raise MissingMessage(f"{key!r} ({lang})") from e
    return text.format(**kwargs) if kwargs else text


def has(key: str) -> bool:
    """Whether the catalogue has `key`."""
    return key in catalogue()


def fmt_number(x: Any, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number for people: 1,234,567 in English; 123.5万 / 1.2亿 in Chinese when large."""
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:  # NaN
        return "–"
    if lang == "zh":
        a = abs(v)
        if a >= 1e8:
            return f"{v / 1e8:,.2f}亿"
        if a >= 1e4:
            return f"{v / 1e4:,.1f}万"
    return f"{v:,.{decimals}f}"


# Units of the compact form, largest first; a number is shortened from 10,000 on.
_COMPACT_UNITS = {
    "en": ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")),
    "zh": ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")),
}
_COMPACT_FROM = 1e4


def fmt_compact(x: Any, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number short enough for a metric tile, about three significant digits:
    13.7K, 481M, 1.27B in English; 1.37万, 4.81亿 in Chinese. Below 10,000 as fmt_number."""
    if x is None:
        return MISSING
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:  # NaN
        return MISSING
    units = _COMPACT_UNITS.get(lang, _COMPACT_UNITS["en"])
    if abs(v) < _COMPACT_FROM:
        return fmt_number(v, lang, decimals)
    for i, (size, unit) in enumerate(units):
        if abs(v) < size:
            continue
        if i > 0 and abs(round(v / size)) >= units[i - 1][0] / size:
            size, unit = units[i - 1]  # 999,999 is 1.00M, not 1,000K
        scaled = v / size
        digits = 2 if abs(scaled) < 9.995 else 1 if abs(scaled) < 99.95 else 0
        return f"{scaled:,.{digits}f}{unit}"
    return fmt_number(v, lang, decimals)  # pragma: no cover - every unit is below _COMPACT_FROM


def fmt_exact(x: Any, decimals: int = 0) -> str:
    """Every digit, with thousands separators (what fmt_compact shortened): 480,706,782."""
    return fmt_number(x, "en", decimals)


def fmt_pct(x: Any, decimals: int = 1) -> str:
    """0.7123 -> '71.2%'."""
    if x is None:
        return MISSING
    v = float(x)
    return MISSING if v != v else f"{v * 100:.{decimals}f}%"


def fmt_change(x: Any, decimals: int = 1) -> str:
    """A relative change with its sign: 0.152 -> '+15.2%'."""
    if x is None:
        return MISSING
    v = float(x)
    return MISSING if v != v else f"{v * 100:+.{decimals}f}%"


def fmt_date(d: Any, lang: str = DEFAULT_LANG) -> str:
    """2024-01-31 -> '2024年1月31日' (zh) or '2024-01-31' (en)."""
    if d is None:
        return "–"
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{d:%Y-%m-%d}"


def currency(lang: str = DEFAULT_LANG) -> str:
    """The currency symbol money is shown with: $CRM_LENS_CURRENCY, default ¥ (the amounts are
    the same in every language, so the symbol does not follow `lang`)."""
    from crm_core import config

    return config.CURRENCY


def month_tickformat(lang: str = DEFAULT_LANG) -> str:
    """Plotly tick format for monthly axes."""
    return "%Y年%m月" if lang == "zh" else "%b %Y"
