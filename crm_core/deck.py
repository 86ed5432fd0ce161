"""Exports of the presentation slides: a 16:9 PPTX deck, an HTML report and its PDF."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import subprocess
import tempfile
from pathlib import Path

from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from crm_core import i18n, images
from crm_core.slides import Slide

# East Asian glyphs in PowerPoint come from the `ea` font, not the latin one.
EA_FONT = "Microsoft YaHei"
LATIN_FONT = "Calibri"


def _text(slide, text: str, left, top, width, height, size: int, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = LATIN_FONT
    rpr = run._r.get_or_add_rPr()
    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        rpr.append(ea)
    ea.set("typeface", EA_FONT)


def build_deck(slides: list[Slide], lang: str, as_of: dt.date | None = None) -> bytes:
    """A 16:9 PPTX: a title slide, then one titled slide per chart with its takeaway."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)  # 16:9, 13.333 x 7.5 in
    blank = prs.slide_layouts[6]
    first = prs.slides.add_slide(blank)
    _text(
        first,
        i18n.t("present.deck_title", lang),
        Inches(0.8),
        Inches(2.6),
        Inches(11.7),
        Inches(1.2),
        40,
        bold=True,
    )
    date = i18n.fmt_date(as_of or dt.date.today(), lang)
    _text(
        first,
        i18n.t("present.deck_subtitle", lang, date=date),
        Inches(0.8),
        Inches(3.9),
        Inches(11.7),
        Inches(0.8),
        20,
    )
    for s in slides:
        page = prs.slides.add_slide(blank)
        _text(page, s.title, Inches(0.6), Inches(0.3), Inches(12.1), Inches(0.8), 30, bold=True)
        _text(page, s.takeaway, Inches(0.6), Inches(1.05), Inches(12.1), Inches(0.6), 18)
        png = images.figure_image(s.figure)
        # 1000 x 560 px keeps the chart's aspect; fit it under the title band.
        height = Inches(5.6)
        width = Emu(int(height * images.WIDTH / images.HEIGHT))
        page.shapes.add_picture(
            io.BytesIO(png),
            int((prs.slide_width - width) / 2),
            Inches(1.7),
            width=width,
            height=height,
        )
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def build_html(slides: list[Slide], lang: str, as_of: dt.date | None = None) -> str:
    """A self-contained HTML report: one section per slide with its chart as an embedded PNG."""
    title = i18n.t("present.deck_title", lang)
    date = i18n.fmt_date(as_of or dt.date.today(), lang)
    parts = [
        "<!doctype html><html lang='{}'><head><meta charset='utf-8'><title>{}</title>".format(
            "zh-CN" if lang == "zh" else "en", html.escape(title)
        ),
        "<style>body{font-family:'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',"
        "sans-serif;margin:2em;color:#222} section{page-break-inside:avoid;margin-bottom:2em}"
        "h1{font-size:28px} h2{font-size:22px;margin-bottom:.2em} p{margin-top:0;color:#444}"
        "img{width:100%;max-width:1000px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(i18n.t('present.deck_subtitle', lang, date=date))}</p>",
    ]
    for s in slides:
        png = base64.b64encode(images.figure_image(s.figure)).decode()
        parts.append(
            f"<section><h2>{html.escape(s.title)}</h2><p>{html.escape(s.takeaway)}</p>"
            f"<img alt='{html.escape(s.title)}' src='data:image/png;base64,{png}'></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def html_to_pdf(document: str) -> bytes:
    """Print an HTML document to PDF with the system's headless Chromium."""
    browser = images._browser()
    with tempfile.TemporaryDirectory(prefix="crm_lens_pdf_") as d:
        src, out = Path(d) / "report.html", Path(d) / "report.pdf"
        src.write_text(document, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={d}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                src.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return out.read_bytes()
