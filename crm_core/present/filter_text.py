"""The filters in words: the line naming what a figure is filtered by, and filters not applied."""

from __future__ import annotations

import datetime as dt

from crm_core.metrics.filters import NOWHERE, SCOPE_FIELDS, Filters, inapplicable
from crm_core.present import i18n


def not_applied_note(table: str, f: Filters, lang: str) -> str:
    """The sentence naming the active filters that do not apply to `table` (inapplicable), for a
    caption or a slide's takeaway; "" when every active filter applies."""
    dims = inapplicable(table, f)
    if not dims:
        return ""
    names = i18n.t("filters.joiner", lang).join(i18n.t(f"dim.{d}", lang) for d in dims)
    return i18n.t("filters.not_applied", lang, dims=names, table=i18n.t(f"filters.{table}", lang))


def active_line(
    f: Filters, lang: str, start: dt.date | None = None, end: dt.date | None = None
) -> str:
    """The one line naming what a figure is filtered by, for a page header, a slide, a deck page
    or a report section: the period (the filters' own, else `start` / `end`, the period a page
    defaults to), each set dimension, then the scope ("筛选：区域 = 华东；…", or "筛选：无（全部数据）"
    when nothing is set). Values are the data's own text: escape the line before Markdown."""
    items: list[str] = []
    a, b = f.start or start, f.end or end
    if a and b:
        items.append(
            i18n.t(
                "filters.line_period",
                lang,
                start=i18n.fmt_date(a, lang),
                end=i18n.fmt_date(b, lang),
            )
        )
    items += [i18n.t("filters.line_item", lang, dim=i18n.t(f"dim.{k}", lang), value=v)
              for k, v in f.active.items()]  # fmt: skip
    joiner = i18n.t("filters.joiner", lang)
    for dim, name in SCOPE_FIELDS.items():
        values = [v for v in getattr(f, name) if v != NOWHERE]
        if getattr(f, name):
            shown = joiner.join(values) or i18n.t("filters.line_nothing", lang)
            items.append(
                i18n.t("filters.line_scope", lang, dim=i18n.t(f"dim.{dim}", lang), values=shown)
            )
    if not items:
        return i18n.t("filters.line_none", lang)
    return i18n.t("filters.line", lang, items=i18n.t("filters.line_separator", lang).join(items))
