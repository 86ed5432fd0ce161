"""A digest's content: the week, the scope's figures (computed once per scope), the Digest and its JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_core.app.auth import Account
from crm_core.app.digest.settings import setting
from crm_core.engine import db
from crm_core.metrics import clv, clv_reports, explain, overview, pipeline, weekly
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import explain_text, i18n

MOVEMENTS = 3  # movements explained per digest
LIST_ROWS = 10  # at-risk customers and overdue leads listed (the link leads to the rest)
# A measure whose rise is bad news; every other one is good news when it rises.
BAD_WHEN_UP = frozenset({"complaints"})
# Threads that compute distinct scopes at once (DuckDB runs queries outside the GIL).
WORKERS = int(os.environ.get("CRM_LENS_DIGEST_WORKERS", "2"))
# The app's address in the link when base_url is not set (settings.setting).
DEFAULT_BASE_URL = "http://localhost:8501"


def digest_week(con: db.Connection, week: dt.date | None = None) -> Period | None:
    """The Monday-Sunday week holding `week`; without it the last complete week up to the last
    order date (that date's week when it is a Sunday). None when no order is loaded."""
    if week is None:
        rng = overview.data_range(con)
        if rng is None:
            return None
        last = rng[1]
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
    else:
        sunday = week + dt.timedelta(days=6 - week.weekday())
    return Period(sunday - dt.timedelta(days=6), sunday)


@dataclass(frozen=True)
class Headline:
    """One of the Weekly page's figures: this week, last week, change, and its tone (good, bad
    or flat: a rise in complaints is bad, a rise in anything else good)."""

    measure: str
    label: str
    this_week: float | None
    last_week: float | None
    change: float | None
    change_pct: float | None
    tone: str

    @property
    def decimals(self) -> int:
        return 2 if self.measure in ("revenue", "satisfaction") else 0


@dataclass
class Digest:
    """One recipient's digest for one week, in the recipient's language."""

    user: str
    lang: str
    regions: tuple[str, ...]
    owners: tuple[str, ...]
    week: Period
    headlines: list[Headline]
    movements: list[tuple[str, str]]  # (metric, one sentence)
    at_risk: pd.DataFrame
    overdue: pd.DataFrame
    link: str
    table: pd.DataFrame = field(repr=False)
    at_risk_total: int = 0
    overdue_total: int = 0  # weekly.weekly_comparison, for the chart

    @property
    def title(self) -> str:
        return i18n.t(
            "digest.title",
            self.lang,
            start=i18n.fmt_date(self.week.start, self.lang),
            end=i18n.fmt_date(self.week.end, self.lang),
        )

    @property
    def scope_text(self) -> str:
        parts = []
        if self.regions:
            parts.append(i18n.t("digest.scope_regions", self.lang, values="、".join(self.regions)))
        if self.owners:
            parts.append(i18n.t("digest.scope_owners", self.lang, values="、".join(self.owners)))
        return "; ".join(parts) or i18n.t("digest.scope_all", self.lang)


def tone(measure: str, change: float | None) -> str:
    """'good', 'bad' or 'flat' for a change of `measure` (BAD_WHEN_UP turns the sign)."""
    if change is None or change != change or change == 0:
        return "flat"
    up = change > 0
    return "bad" if up == (measure in BAD_WHEN_UP) else "good"


def digest_filters(account: Account, week: Period) -> Filters:
    """The filters a digest is computed under: its week, within the account's scope (what the
    account sees on the Weekly page with ?start=…&end=… in the URL)."""
    return Filters(start=week.start, end=week.end).within_scope(account.regions, account.owners)


def link(week: Period, lang: str, base_url: str | None = None) -> str:
    """The Weekly page of the app for `week` (the filters in the URL; the sign-in adds the
    scope)."""
    base = (base_url or setting("base_url") or DEFAULT_BASE_URL).rstrip("/")
    query = urllib.parse.urlencode(
        {"start": week.start.isoformat(), "end": week.end.isoformat(), "lang": lang}
    )
    return f"{base}/weekly?{query}"


def _largest(explanations: dict[str, explain.Explanation], n: int) -> list[explain.Explanation]:
    # The order explain.largest_change picks the first by: relative change, largest first.
    moved = [e for e in explanations.values() if e.change != 0]
    moved.sort(
        key=lambda e: (
            e.change_pct is not None,
            abs(e.change_pct or 0),
            -explain.METRICS.index(e.metric),
        ),
        reverse=True,
    )
    return moved[:n]


def at_risk_customers(con: db.Connection, f: Filters, as_of: dt.date) -> pd.DataFrame:
    """The Churn & CLV page's call list (clv_reports.call_list) fitted on orders up to `as_of` within
    the filters' scope: customer_id, name, owner, region, past_value, p_alive, value_at_risk;
    empty when the model cannot be fitted on that data."""
    cols = ["customer_id", "name", "owner", "region", "past_value", "p_alive", "value_at_risk"]
    try:
        found = clv_reports.call_list(con, clv.churn_clv(con, f, calibration_end=as_of))
    except clv.FitError:
        return pd.DataFrame(columns=cols)
    return found.reset_index()[cols] if "customer_id" not in found.columns else found[cols]


def overdue_leads(con: db.Connection, f: Filters, as_of: dt.date) -> pd.DataFrame:
    """The Pipeline page's overdue leads (pipeline.overdue_list) at `as_of` within the scope,
    longest overdue first: owner, lead_id, grade, stage, days_overdue."""
    found = pipeline.overdue_list(con, as_of, end=as_of, filters=f)
    found = found.sort_values(["days_overdue", "lead_id"], ascending=[False, True])
    return found[["owner", "lead_id", "grade", "stage", "days_overdue"]].reset_index(drop=True)


Computed = tuple[pd.DataFrame, list[explain.Explanation], pd.DataFrame, pd.DataFrame]


def _compute(con: db.Connection, f: Filters, week: Period) -> Computed:
    table = weekly.weekly_comparison(con, week.end, f)
    moved = _largest(explain.explain_all(con, week, f), MOVEMENTS)
    return table, moved, at_risk_customers(con, f, week.end), overdue_leads(con, f, week.end)


def scope_rows_key(con: db.Connection, f: Filters) -> tuple[bool, str]:
    """What the scope of `f` admits, as a key: whether it is restricted at all, and a hash of
    the customers, leads and complaints it lets through (SQL digest_scope_rows). Every query
    sees a scope only through those rows (order lines through their customer), so two
    restricted scopes with the same key show the same figures to the cent: a region x owner
    scope whose owner works in that region only is the owner's scope, and every scope that
    admits nothing is the same empty one."""
    scope = Filters(regions=f.regions, owners=f.owners)
    rows = db.query_rows(con, "digest_scope_rows", **scope.params(), start=None, end_excl=None)
    h = hashlib.sha256()
    for kind, id_ in rows:
        h.update(f"{kind}\x1f{id_}\x1e".encode())
    return scope.scoped, h.hexdigest()


def compute_scopes(
    con: db.Connection,
    accounts: list[Account],
    week: Period,
    cache: dict[Any, Computed],
    workers: int = WORKERS,
) -> None:
    """Fill `cache` with the figures of each distinct scope among `accounts` for `week`, on
    `workers` threads (DuckDB: one cursor each; other backends one at a time). Recipients of
    one scope share its figures, and so do scopes that admit the same rows (scope_rows_key);
    build_digest then only formats them."""
    with computing_scopes(con, accounts, week, cache, workers):
        pass


@contextmanager
def computing_scopes(
    con: db.Connection,
    accounts: list[Account],
    week: Period,
    cache: dict[Any, Computed],
    workers: int = WORKERS,
) -> Iterator[Callable[[Filters], None]]:
    """compute_scopes in the background: yields `ready(filters)`, which waits until that
    scope's figures are in `cache`, so a caller can draw and send the first digests while the
    next scopes are computed. Every scope is in `cache` when the block ends. Only the calling
    thread writes to `cache`."""
    todo: list[Filters] = []
    for a in accounts:
        f = digest_filters(a, week)
        if (f, week) not in cache and f not in todo:
            todo.append(f)
    same: dict[tuple[bool, str], list[Filters]] = {}
    for f in todo:
        same.setdefault(scope_rows_key(con, f), []).append(f)
    if workers <= 1 or len(same) < 2 or not db.is_duckdb(con):
        for group in same.values():
            computed = _compute(con, group[0], week)
            cache.update({(f, week): computed for f in group})
        yield lambda f: None
        return

    def one(f: Filters) -> Computed:
        cur = con.cursor()
        try:
            return _compute(cur, f, week)
        finally:
            cur.close()

    pending: dict[Filters, Future[Computed]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for group in same.values():
                job = pool.submit(one, group[0])
                pending.update({f: job for f in group})

            def ready(f: Filters) -> None:
                job = pending.pop(f, None)
                if job is not None:
                    cache[(f, week)] = job.result()

            yield ready
            for f in list(pending):
                ready(f)
        finally:
            for job in pending.values():
                job.cancel()


def build_digest(
    con: db.Connection,
    account: Account,
    week: Period,
    lang: str = "zh",
    cache: dict[Any, Computed] | None = None,
    base_url: str | None = None,
) -> Digest:
    """The digest of `account` for `week` in `lang`. `cache` (one dict for a run) shares the
    figures between recipients of the same scope: they are the same figures."""
    f = digest_filters(account, week)
    key = (f, week)
    if cache is not None and key in cache:
        computed = cache[key]
    else:
        computed = _compute(con, f, week)
        if cache is not None:
            cache[key] = computed
    table, moved, risk, overdue = computed
    heads = [
        Headline(
            str(r.measure),
            i18n.t(f"weekly.measures.{r.measure}", lang),
            _num(r.this_week),
            _num(r.last_week),
            _num(r.change),
            _num(r.change_pct),
            tone(str(r.measure), _num(r.change)),
        )
        for r in table.itertuples()
    ]
    return Digest(
        user=account.name,
        lang=lang,
        regions=account.regions,
        owners=account.owners,
        week=week,
        headlines=heads,
        movements=[(e.metric, explain_text.takeaway(e, lang)) for e in moved],
        at_risk=risk.head(LIST_ROWS),
        overdue=overdue.head(LIST_ROWS),
        link=link(week, lang, base_url),
        table=table,
        at_risk_total=len(risk),
        overdue_total=len(overdue),
    )


def _num(x: Any) -> float | None:
    return None if x is None or x != x else float(x)


def to_json(d: Digest) -> dict[str, Any]:
    """The `digest --dry-run --json` object of one digest: {user, lang, week: {start, end},
    scope: {regions, owners}, headlines: [{measure, label, this_week, last_week, change,
    change_pct, tone}], movements: [{metric, sentence}], at_risk: [{customer_id, name, owner,
    region, past_value, p_alive, value_at_risk}] (the first LIST_ROWS), at_risk_total,
    overdue: [{owner, lead_id, grade, stage, days_overdue}] (likewise), overdue_total, link}."""

    def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in df.to_dict(orient="records"):
            out.append(
                {
                    str(k): (None if not isinstance(v, str) and pd.isna(v) else v)
                    for k, v in r.items()
                }
            )
        return out

    return {
        "user": d.user,
        "lang": d.lang,
        "week": {"start": d.week.start.isoformat(), "end": d.week.end.isoformat()},
        "scope": {"regions": list(d.regions), "owners": list(d.owners)},
        "headlines": [
            {
                "measure": h.measure,
                "label": h.label,
                "this_week": h.this_week,
                "last_week": h.last_week,
                "change": h.change,
                "change_pct": h.change_pct,
                "tone": h.tone,
            }
            for h in d.headlines
        ],
        "movements": [{"metric": m, "sentence": s} for m, s in d.movements],
        "at_risk": rows(d.at_risk),
        "at_risk_total": d.at_risk_total,
        "overdue": rows(d.overdue),
        "overdue_total": d.overdue_total,
        "link": d.link,
    }
