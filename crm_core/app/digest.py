"""Weekly digests: each account's own figures for the last complete week, by email or group webhook.

What a digest holds (docs/metrics.md, "Weekly digest"): the recipient's scope and week (Monday to
Sunday), the Weekly page's six figures with their change and tone, the three largest movements in
one sentence each (explain.takeaway), the valuable customers at risk (clv.call_list) and the
overdue leads (pipeline.overdue_list) within the scope, and a link to the Weekly page for that
week. Every figure comes from the function the app's pages call, under the same scope and week.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import os
import smtplib
import ssl
import subprocess
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from crm_core.app import auth
from crm_core.app.auth import Account, Delivery
from crm_core.engine import config, db
from crm_core.metrics import clv, clv_reports, explain, overview, pipeline, weekly
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import explain_text, i18n

MOVEMENTS = 3  # movements explained per digest
LIST_ROWS = 10  # at-risk customers and overdue leads listed (the link leads to the rest)
# A measure whose rise is bad news; every other one is good news when it rises.
BAD_WHEN_UP = frozenset({"complaints"})
# Sending: attempts per channel and the first wait between them (doubled after each failure).
ATTEMPTS = int(os.environ.get("CRM_LENS_DIGEST_ATTEMPTS", "3"))
BACKOFF_S = float(os.environ.get("CRM_LENS_DIGEST_BACKOFF", "2"))
TIMEOUT_S = 20.0
# Threads that compute distinct scopes at once (DuckDB runs queries outside the GIL).
WORKERS = int(os.environ.get("CRM_LENS_DIGEST_WORKERS", "2"))
# Threads that print PDFs at once, each with a browser of its own (a print mostly waits).
PDF_WORKERS = int(os.environ.get("CRM_LENS_DIGEST_PDF_WORKERS", "2"))
# Threads that send at once (each waits on its SMTP server or robot, and on backoff).
SEND_WORKERS = int(os.environ.get("CRM_LENS_DIGEST_SEND_WORKERS", "4"))
# The largest message each group robot takes (WeCom markdown 4,096 bytes; Feishu 20 KB).
WECOM_MAX_BYTES = 4096
SECRETS_FILE = config.ROOT / ".streamlit" / "secrets.toml"
DEFAULT_BASE_URL = "http://localhost:8501"


class DigestError(ValueError):
    """A digest that cannot be built or addressed (no data, no channel, unknown webhook name)."""


# --------------------------------------------------------------------------- secrets


def _secrets_file() -> dict[str, Any]:
    path = Path(os.environ.get("CRM_LENS_SECRETS", SECRETS_FILE))
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    section = data.get("digest", {})
    return section if isinstance(section, dict) else {}


def setting(name: str) -> str | None:
    """A digest setting or secret: $CRM_LENS_<NAME>, else `name` in the [digest] table of
    .streamlit/secrets.toml (smtp, smtp_user, smtp_password, smtp_from, smtp_cafile, base_url)."""
    value = os.environ.get(f"CRM_LENS_{name.upper()}")
    if value:
        return value
    found = _secrets_file().get(name)
    return str(found) if found else None


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.upper())


def webhook_url(name: str) -> tuple[str, str | None]:
    """(URL, signing secret or None) of the group webhook called `name`: $CRM_LENS_WEBHOOK_<NAME>
    and $CRM_LENS_WEBHOOK_<NAME>_SECRET, else `name` and `<name>_secret` in [digest.webhooks] of
    .streamlit/secrets.toml. The URL holds the robot's key, so it is never taken from the
    command line nor written to a log."""
    env = f"CRM_LENS_WEBHOOK_{_env_name(name)}"
    hooks = _secrets_file().get("webhooks", {})
    url = os.environ.get(env) or (hooks.get(name) if isinstance(hooks, dict) else None)
    if not url:
        raise DigestError(
            f"webhook {name!r}: set ${env} or [digest.webhooks] {name} in .streamlit/secrets.toml"
        )
    secret = os.environ.get(f"{env}_SECRET") or (
        hooks.get(f"{name}_secret") if isinstance(hooks, dict) else None
    )
    return str(url), (str(secret) if secret else None)


# --------------------------------------------------------------------------- the week


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


# --------------------------------------------------------------------------- the content


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


_Computed = tuple[pd.DataFrame, list[explain.Explanation], pd.DataFrame, pd.DataFrame]


def _compute(con: db.Connection, f: Filters, week: Period) -> _Computed:
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
    cache: dict[Any, _Computed],
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
    cache: dict[Any, _Computed],
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

    def one(f: Filters) -> _Computed:
        cur = con.cursor()
        try:
            return _compute(cur, f, week)
        finally:
            cur.close()

    pending: dict[Filters, Future[_Computed]] = {}
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
    cache: dict[Any, _Computed] | None = None,
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


def _value(h: Headline, x: float | None) -> str:
    return i18n.fmt_exact(x, h.decimals) if x is not None else i18n.MISSING


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


# --------------------------------------------------------------------------- rendering

_MD_SPECIAL = "\\`*_{}[]()<>#!|~"
TONE_COLOURS = {"good": "#1b7f3b", "bad": "#c62828", "flat": "#666666"}


def arrow(h: Headline) -> str:
    """▲ for a rise, ▼ for a fall, – for no change; the colour (TONE_COLOURS) says good or bad."""
    if not h.change:
        return "–"
    return "▲" if h.change > 0 else "▼"


def md_escape(text: Any) -> str:
    """Data text (a name, a region) safe inside Markdown: special characters backslash-escaped
    and line breaks flattened, so a cell value never becomes a link, image or heading."""
    s = " ".join(str(text).split())
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in s)


def _change_text(h: Headline) -> str:
    if h.change is None:
        return i18n.MISSING
    amount = i18n.fmt_exact(h.change, h.decimals)
    amount = amount if h.change < 0 else "+" + amount
    pct = f" ({i18n.fmt_change(h.change_pct)})" if h.change_pct is not None else ""
    return amount + pct


def _coloured(text: str, t: str, fmt: str) -> str:
    # WeCom colours by name (info green, warning orange-red, comment grey); Feishu cards take
    # green / red / grey; DingTalk markdown has no colours, the arrow carries the tone.
    if fmt == "wecom":
        return (
            f'<font color="{ {"good": "info", "bad": "warning"}.get(t, "comment") }">{text}</font>'
        )
    if fmt == "feishu":
        return f"<font color='{ {'good': 'green', 'bad': 'red'}.get(t, 'grey') }'>{text}</font>"
    return text


def markdown(d: Digest, fmt: str = "dingtalk") -> str:
    """The digest as Markdown for a group robot (`fmt` picks its colour syntax): headline
    figures, movements, at-risk customers, overdue leads and the link; data text escaped."""
    lang = d.lang
    lines = [f"## {d.title}", i18n.t("digest.scope", lang, scope=md_escape(d.scope_text)), ""]
    for h in d.headlines:
        change = _coloured(f"{arrow(h)} {_change_text(h)}", h.tone, fmt)
        lines.append(f"- **{h.label}** {_value(h, h.this_week)}  {change}")
    if d.movements:
        lines += ["", f"**{i18n.t('digest.movements', lang)}**"]
        lines += [f"{n}. {md_escape(s)}" for n, (_, s) in enumerate(d.movements, 1)]
    lines += ["", f"**{i18n.t('digest.at_risk', lang, n=d.at_risk_total)}**"]
    for r in d.at_risk.itertuples():
        lines.append(
            "- "
            + i18n.t(
                "digest.at_risk_row",
                lang,
                name=md_escape(r.name if isinstance(r.name, str) else r.customer_id),
                owner=md_escape(r.owner if isinstance(r.owner, str) else i18n.MISSING),
                value=i18n.fmt_exact(r.value_at_risk, 2),
                p=i18n.fmt_pct(r.p_alive, 0),
            )
        )
    lines += ["", f"**{i18n.t('digest.overdue', lang, n=d.overdue_total)}**"]
    for r in d.overdue.itertuples():
        lines.append(
            "- "
            + i18n.t(
                "digest.overdue_row",
                lang,
                lead=md_escape(r.lead_id),
                owner=md_escape(r.owner if isinstance(r.owner, str) else i18n.MISSING),
                days=i18n.fmt_exact(r.days_overdue, 0),
            )
        )
    lines += ["", f"[{i18n.t('digest.open', lang)}]({d.link})"]
    return "\n".join(lines)


def chart_figure(d: Digest) -> go.Figure:
    """The Weekly page's chart (this week against last week = 100) in the recipient's language,
    with the CJK-capable font of charts.themed."""
    from crm_core.present import charts

    labels = {h.measure: h.label for h in d.headlines}
    return charts.week_index_bars(
        d.table,
        labels,
        i18n.t("weekly.chart_title", d.lang),
        i18n.t("weekly.this_week", d.lang),
        i18n.t("weekly.last_week", d.lang),
    )


def chart_image(fig: go.Figure) -> bytes:
    """A digest chart as an 800 x 420 PNG."""
    from crm_core.present import images

    return images.figure_image(fig, "png", width=800, height=420, scale=1)


def chart_png(d: Digest) -> bytes:
    """The digest's chart (chart_figure) as a PNG."""
    return chart_image(chart_figure(d))


def html_body(d: Digest, image_src: str | None) -> str:
    """The digest as an HTML document (an email body, or the PDF's source): `image_src` is
    where the chart is (cid:… in an email, a data: URI in the PDF); data text escaped."""
    e, lang = html.escape, d.lang
    cells = []
    for h in d.headlines:
        colour = TONE_COLOURS[h.tone]
        cells.append(
            f"<td style='padding:8px 14px;border:1px solid #ddd'><div style='color:#555'>"
            f"{e(h.label)}</div><div style='font-size:20px;font-weight:bold'>"
            f"{e(_value(h, h.this_week))}</div><div style='color:{colour}'>"
            f"{e(arrow(h))} {e(_change_text(h))}</div></td>"
        )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(d.title)}</title></head>",
        "<body style=\"font-family:'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',"
        'sans-serif;color:#222">',
        f"<h2>{e(d.title)}</h2><p>{e(i18n.t('digest.scope', lang, scope=d.scope_text))}</p>",
        f"<table style='border-collapse:collapse'><tr>{''.join(cells)}</tr></table>",
    ]
    if image_src:
        alt = e(i18n.t("weekly.chart_title", lang))
        parts.append(f"<p><img src='{e(image_src)}' alt='{alt}' width='800'></p>")
    if d.movements:
        items = "".join(f"<li>{e(s)}</li>" for _, s in d.movements)
        parts.append(f"<h3>{e(i18n.t('digest.movements', lang))}</h3><ol>{items}</ol>")
    parts.append(f"<h3>{e(i18n.t('digest.at_risk', lang, n=d.at_risk_total))}</h3><ul>")
    for r in d.at_risk.itertuples():
        text = i18n.t(
            "digest.at_risk_row",
            lang,
            name=r.name if isinstance(r.name, str) else r.customer_id,
            owner=r.owner if isinstance(r.owner, str) else i18n.MISSING,
            value=i18n.fmt_exact(r.value_at_risk, 2),
            p=i18n.fmt_pct(r.p_alive, 0),
        )
        parts.append(f"<li>{e(text)}</li>")
    parts.append(f"</ul><h3>{e(i18n.t('digest.overdue', lang, n=d.overdue_total))}</h3><ul>")
    for r in d.overdue.itertuples():
        text = i18n.t(
            "digest.overdue_row",
            lang,
            lead=r.lead_id,
            owner=r.owner if isinstance(r.owner, str) else i18n.MISSING,
            days=i18n.fmt_exact(r.days_overdue, 0),
        )
        parts.append(f"<li>{e(text)}</li>")
    parts.append(f"</ul><p><a href='{e(d.link)}'>{e(i18n.t('digest.open', lang))}</a></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def email_message(
    d: Digest, sender: str, to: str, chart: bytes | None, pdf: bytes | None
) -> EmailMessage:
    """The email: a plain-text part (the Markdown), an HTML part with the chart inline
    (cid:), and the digest as a PDF attachment."""
    msg = EmailMessage()
    msg["Subject"] = d.title
    msg["From"] = sender
    msg["To"] = to
    msg.set_content(markdown(d, "email"))
    cid = make_msgid(domain="crm-lens.local")
    msg.add_alternative(html_body(d, f"cid:{cid[1:-1]}" if chart else None), subtype="html")
    if chart:
        html_part = msg.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(chart, maintype="image", subtype="png", cid=cid)
    if pdf:
        name = f"crm-lens-{d.week.start:%Y-%m-%d}.pdf"
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return msg


def pdf_source(d: Digest, chart: bytes | None) -> str:
    """The HTML document the digest's PDF is printed from (the chart as a data: URI)."""
    src = f"data:image/png;base64,{base64.b64encode(chart).decode()}" if chart else None
    return html_body(d, src)


def digest_pdf(
    d: Digest, chart: bytes | None, printer: Callable[[str], bytes] | None = None
) -> bytes:
    """The digest printed to PDF: by `printer` (a deck.PdfPrinter kept open for a run) when
    given, else by the report export's printer (deck.html_to_pdf)."""
    from crm_core.present import deck

    return (printer or deck.html_to_pdf)(pdf_source(d, chart))


def webhook_payloads(
    d: Digest, fmt: str, chart: bytes | None = None, secret: str | None = None, now: float = 0.0
) -> list[dict[str, Any]]:
    """The JSON bodies to post for `fmt`, in order, per each robot's documented format:
    wecom: a markdown message ({"msgtype":"markdown","markdown":{"content"}}, at most 4,096
    bytes) then the chart as an image message ({"msgtype":"image","image":{"base64","md5"}});
    dingtalk: {"msgtype":"markdown","markdown":{"title","text"}} (signing goes in the URL);
    feishu: an interactive card with a markdown element and a button to the app, plus
    "timestamp" and "sign" when the robot has a signing secret."""
    if fmt == "wecom":
        text = markdown(d, "wecom")
        if len(text.encode()) > WECOM_MAX_BYTES:
            text = _fit_bytes(text, WECOM_MAX_BYTES, d)
        out: list[dict[str, Any]] = [{"msgtype": "markdown", "markdown": {"content": text}}]
        if chart:
            out.append(
                {
                    "msgtype": "image",
                    "image": {
                        "base64": base64.b64encode(chart).decode(),
                        "md5": hashlib.md5(chart).hexdigest(),
                    },
                }
            )
        return out
    if fmt == "dingtalk":
        return [{"msgtype": "markdown", "markdown": {"title": d.title, "text": markdown(d, fmt)}}]
    if fmt == "feishu":
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": d.title},
                    "template": "blue",
                },
                "elements": [
                    {"tag": "markdown", "content": markdown(d, fmt)},
                    {
                        "tag": "action",
                        "actions": [
                            {
                                "tag": "button",
                                "text": {
                                    "tag": "plain_text",
                                    "content": i18n.t("digest.open", d.lang),
                                },
                                "url": d.link,
                                "type": "primary",
                            }
                        ],
                    },
                ],
            },
        }
        if secret:
            ts = str(int(now or time.time()))
            body["timestamp"] = ts
            body["sign"] = feishu_sign(ts, secret)
        return [body]
    raise DigestError(f"webhook format {fmt!r}: one of {', '.join(auth.WEBHOOK_FORMATS)}")


def _fit_bytes(text: str, limit: int, d: Digest) -> str:
    # Drop list lines from the end until it fits; the link (last line) always stays.
    lines = text.split("\n")
    tail = lines[-1]
    body = lines[:-1]
    while body and len(("\n".join(body) + "\n…\n" + tail).encode()) > limit:
        body.pop()
    return "\n".join(body) + "\n…\n" + tail


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """A DingTalk robot URL with its signature: &timestamp=<ms>&sign=<urlencoded base64
    HMAC-SHA256 of "<timestamp>\\n<secret>" keyed by the secret>."""
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


def feishu_sign(timestamp: str, secret: str) -> str:
    """A Feishu robot signature: base64 HMAC-SHA256 of an empty message keyed by
    "<timestamp>\\n<secret>"."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


# --------------------------------------------------------------------------- sending


class SendError(RuntimeError):
    """A channel that refused or could not be reached after every attempt."""


_sleep = time.sleep  # the wait between attempts (tests replace it here, not in `time`)


def with_retries(
    send: Callable[[], None],
    attempts: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Call `send` until it succeeds, at most `attempts` times, waiting `backoff`, 2×, 4×, …
    seconds between; the number of attempts made. The last error is raised as SendError."""
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF_S if backoff is None else backoff
    last: Exception | None = None
    for n in range(1, attempts + 1):
        try:
            send()
            return n
        except (OSError, smtplib.SMTPException, SendError, ValueError) as err:
            last = err
            if n < attempts:
                (sleep or _sleep)(backoff * 2 ** (n - 1))
    raise SendError(f"{type(last).__name__}: {_safe_error(last)} after {attempts} attempts")


def _safe_error(err: Exception | None) -> str:
    from crm_core.present.text import redact

    # A URL in an error could carry a robot's key: keep the reason, never the address.
    text = str(getattr(err, "reason", None) or err or "")
    return redact(" ".join(w for w in text.split() if "://" not in w))[:200]


def send_email(msg: EmailMessage, smtp: str) -> None:
    """Send through `smtp` (HOST:PORT) with STARTTLS, logging in when $CRM_LENS_SMTP_USER /
    smtp_user is set (password: $CRM_LENS_SMTP_PASSWORD / smtp_password). The server's
    certificate is checked (against $CRM_LENS_SMTP_CAFILE / smtp_cafile when set)."""
    host, _, port = smtp.rpartition(":")
    if not host or not port.isdigit():
        raise DigestError(f"--smtp {smtp!r}: expected HOST:PORT, e.g. smtp.example.com:587")
    context = ssl.create_default_context(cafile=setting("smtp_cafile"))
    with smtplib.SMTP(host, int(port), timeout=TIMEOUT_S) as server:
        server.ehlo()
        server.starttls(context=context)
        server.ehlo()
        user = setting("smtp_user")
        if user:
            server.login(user, setting("smtp_password") or "")
        server.send_message(msg)


def post_json(url: str, body: dict[str, Any]) -> None:
    """POST one JSON body; a non-2xx status or an error code in the reply ("errcode" for
    WeCom / DingTalk, "code" for Feishu) is a failure."""
    data = json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        raw = resp.read()
    try:
        reply = json.loads(raw or b"{}")
    except ValueError:
        reply = {}
    code = reply.get("errcode", reply.get("code", 0)) if isinstance(reply, dict) else 0
    if code not in (0, None):
        raise SendError(f"the robot refused the message (code {code})")


def send_webhook(d: Digest, name: str, fmt: str, chart: bytes | None) -> None:
    """Post the digest to the group webhook called `name` in `fmt`."""
    url, secret = webhook_url(name)
    if not url.startswith(("http://", "https://")):
        raise DigestError(f"webhook {name!r}: the URL must start with http:// or https://")
    for body in webhook_payloads(d, fmt, chart if fmt == "wecom" else None, secret):
        target = dingtalk_signed_url(url, secret) if fmt == "dingtalk" and secret else url
        post_json(target, body)


@dataclass
class Outcome:
    """What happened to one recipient's digest on one channel."""

    user: str
    channel: str  # email | webhook
    status: str  # sent | failed | skipped (sent before) | dry-run
    attempts: int = 0
    error: str = ""


def sent_key(user: str, week: Period, channel: str) -> str:
    """The audit detail that marks a digest as sent: one per user, week and channel."""
    return f"{user} week={week.start.isoformat()} via={channel}"


def already_sent(con: db.Connection, user: str, week: Period, channel: str) -> bool:
    """Whether the audit log records this user's digest for `week` on `channel` as sent."""
    return bool(db.scalar(con, "digest_sent_count", detail=sent_key(user, week, channel)))


@dataclass
class Plan:
    """A recipient and the channels to use: email address and SMTP server, webhook name and
    format."""

    account: Account
    delivery: Delivery
    smtp: str | None = None


def deliver(
    con: db.Connection,
    plans: list[Plan],
    week: Period,
    actor: str = "cli",
    force: bool = False,
    attempts: int | None = None,
    backoff: float | None = None,
    pdf: bool = True,
) -> list[Outcome]:
    """Build and send each plan's digest; every attempt's result is recorded in the audit log
    (digest_sent / digest_failed). A digest recorded as sent for that week and channel is
    skipped unless `force`, so a missed run catches up once and a repeated run sends nothing
    twice. A failing channel never stops the other recipients.

    Cost: figures once per distinct scope (computing_scopes, in the background while the
    first digests are drawn); one chart image per distinct chart and one PDF per distinct
    document (printed on PDF_WORKERS threads), from browsers kept open for the run; messages
    are sent SEND_WORKERS at a time while the next digests are drawn."""
    from crm_core.present import deck

    cache: dict[Any, _Computed] = {}
    pending = [
        p.account
        for p in plans
        for c in ("email", "webhook")
        if getattr(p.delivery, c) and (force or not already_sent(con, p.account.name, week, c))
    ]
    charts: dict[str, bytes | None] = {}
    pdfs: dict[str, Future[bytes]] = {}
    printers: list[deck.PdfPrinter] = []
    mine = threading.local()

    def print_pdf(document: str) -> bytes:  # on a PDF thread: its own browser, kept open
        if not hasattr(mine, "printer"):
            mine.printer = deck.PdfPrinter()
            printers.append(mine.printer)
        found: bytes = mine.printer(document)
        return found

    # In plan order: an Outcome already known (skipped), or (user, channel, audit key, sending).
    steps: list[Outcome | tuple[str, str, str, Future[int] | DigestError]] = []
    try:
        with (
            computing_scopes(con, pending, week, cache) as ready,
            ThreadPoolExecutor(max_workers=max(PDF_WORKERS, 1)) as printing,
            ThreadPoolExecutor(max_workers=max(SEND_WORKERS, 1)) as pool,
        ):
            for plan in plans:
                a, dv = plan.account, plan.delivery
                channels = [c for c in ("email", "webhook") if getattr(dv, c)]
                todo = [c for c in channels if force or not already_sent(con, a.name, week, c)]
                steps += [Outcome(a.name, c, "skipped") for c in channels if c not in todo]
                if not todo:
                    continue
                ready(digest_filters(a, week))
                d = build_digest(con, a, week, dv.lang, cache)
                chart = _chart_or_none(d, charts)
                for channel in todo:
                    key = sent_key(a.name, week, channel)
                    if channel == "webhook":
                        fmt, hook = dv.webhook_format or "wecom", str(dv.webhook)
                        send = partial(send_webhook, d, hook, fmt, chart)
                        job = pool.submit(with_retries, send, attempts, backoff)
                        steps.append((a.name, channel, key, job))
                        continue
                    smtp = plan.smtp or setting("smtp")
                    if not smtp:
                        err = DigestError("no SMTP server: --smtp HOST:PORT or $CRM_LENS_SMTP")
                        steps.append((a.name, channel, key, err))
                        continue
                    sender = setting("smtp_from") or setting("smtp_user") or "crm-lens@localhost"
                    printed = None
                    if pdf:
                        # A digest's document depends on its scope, week and language only (not
                        # on the name): recipients who get the same document share one PDF.
                        look = hashlib.sha256(pdf_source(d, chart).encode()).hexdigest()
                        if look not in pdfs:
                            pdfs[look] = printing.submit(digest_pdf, d, chart, print_pdf)
                        printed = pdfs[look]
                    mail = partial(_mail, d, sender, str(dv.email), chart, printed, smtp)
                    steps.append((a.name, channel, key, pool.submit(mail, attempts, backoff)))
    finally:
        for printer in printers:
            printer.close()
    out: list[Outcome] = []
    for step in steps:
        if isinstance(step, Outcome):
            out.append(step)
            continue
        user, channel, key, sending = step
        try:
            if isinstance(sending, DigestError):
                raise sending
            n = sending.result()
            auth.record(con, actor, "digest_sent", key)
            out.append(Outcome(user, channel, "sent", n))
        except (SendError, DigestError) as err:
            why = _safe_error(err)
            auth.record(con, actor, "digest_failed", f"{key}: {why}")
            tried = (attempts or ATTEMPTS) if isinstance(err, SendError) else 0
            out.append(Outcome(user, channel, "failed", tried, why))
    return out


def _mail(
    d: Digest,
    sender: str,
    to: str,
    chart: bytes | None,
    printed: Future[bytes] | None,
    smtp: str,
    attempts: int | None,
    backoff: float | None,
) -> int:
    # A send job: waits for its PDF (printed on a PDF thread), then sends with retries.
    attached = None
    if printed is not None:
        try:
            attached = printed.result()
        except (OSError, subprocess.SubprocessError) as err:
            raise DigestError(f"the PDF could not be printed: {_safe_error(err)}") from err
    msg = email_message(d, sender, to, chart, attached)
    return with_retries(partial(send_email, msg, smtp), attempts, backoff)


def _chart_or_none(d: Digest, drawn: dict[str, bytes | None]) -> bytes | None:
    # Drawn once per distinct figure: recipients whose charts are the same figure (same
    # figures, same language) share its image.
    from crm_core.present.images import ImageExportUnavailable

    fig = chart_figure(d)
    key = fig.to_json()
    if key not in drawn:
        try:
            drawn[key] = chart_image(fig)
        except ImageExportUnavailable:
            drawn[key] = None
    return drawn[key]


def plans_for(
    con: db.Connection,
    user: str | None = None,
    email: str | None = None,
    webhook: str | None = None,
    webhook_format: str | None = None,
    lang: str | None = None,
    smtp: str | None = None,
) -> list[Plan]:
    """The recipients: `user` alone (its stored channels, overridden by the given ones), or
    with user None every account that has a channel."""
    found = auth.deliveries(con)
    if user is not None:
        found = [(a, d) for a, d in found if a.name == user]
        if not found:
            raise auth.AuthError(f"no such user: {user!r}", "no_user", name=user)
        a, d = found[0]
        d = Delivery(
            email or d.email,
            webhook or d.webhook,
            webhook_format or (d.webhook_format if not webhook else None) or "wecom",
            lang or d.lang,
        )
        return [Plan(a, d, smtp)]
    plans = []
    for a, d in found:
        if lang:
            d = Delivery(d.email, d.webhook, d.webhook_format, lang)
        if d.any:
            plans.append(Plan(a, d, smtp))
    return plans
