"""A digest drawn: Markdown for group robots, the HTML mail, the chart, the PDF, the robots' JSON bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import plotly.graph_objects as go

from crm_core.app import auth
from crm_core.app.digest.compose import Digest, Headline
from crm_core.app.digest.settings import DigestError
from crm_core.present import i18n

# The largest message each group robot takes (WeCom markdown 4,096 bytes; Feishu 20 KB).
WECOM_MAX_BYTES = 4096
_MD_SPECIAL = "\\`*_{}[]()<>#!|~"
TONE_COLOURS = {"good": "#1b7f3b", "bad": "#c62828", "flat": "#666666"}


def _value(h: Headline, x: float | None) -> str:
    return i18n.fmt_exact(x, h.decimals) if x is not None else i18n.MISSING


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
