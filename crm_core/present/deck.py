"""Exports of the presentation slides: a 16:9 PPTX deck, an HTML report and its PDF."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import html
import io
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.enum.text import PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from crm_core.present import i18n, images
from crm_core.present.slides import NativeChart, Slide, deck_chart, presentation_style

# East Asian glyphs in PowerPoint come from the `ea` font, not the latin one.
EA_FONT = "Microsoft YaHei"
LATIN_FONT = "Calibri"

# 16:9 at PowerPoint's default widescreen size, 13.333 x 7.5 in.
SLIDE_WIDTH, SLIDE_HEIGHT = Emu(12192000), Emu(6858000)
# The default template's layouts are drawn for 4:3 (10 in wide).
_TEMPLATE_WIDTH = Emu(9144000)
# Layouts of python-pptx's default template.
TITLE_LAYOUT, TITLE_ONLY_LAYOUT = 0, 5

_CHART_TYPES = {
    "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "bar": XL_CHART_TYPE.BAR_CLUSTERED,
    "stacked": XL_CHART_TYPE.COLUMN_STACKED,
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "xy": XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS,
}
# Data labels only where they stay legible: one series, few categories.
_MAX_LABELLED = 12
_GREY = RGBColor(0x66, 0x66, 0x66)
_WARNING = RGBColor(0xD5, 0x5E, 0x00)  # charts.PALETTE[3], as clv_charts.p_alive_chart


def _east_asian(rpr) -> None:  # type: ignore[no-untyped-def]
    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        rpr.append(ea)
    ea.set("typeface", EA_FONT)


def _style(run, size: int, bold: bool = False, grey: bool = False) -> None:  # type: ignore[no-untyped-def]
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = LATIN_FONT
    if grey:
        run.font.color.rgb = _GREY
    _east_asian(run._r.get_or_add_rPr())


def _fill(frame, text: str, size: int, bold: bool = False, grey: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Replace a text frame's text with `text` (one paragraph per line) in the deck's fonts."""
    frame.word_wrap = True
    lines = text.split("\n")
    frame.text = lines[0]
    for line in lines[1:]:
        frame.add_paragraph().text = line
    for para in frame.paragraphs:
        for run in para.runs:
            _style(run, size, bold, grey)


def _text(slide, text: str, left, top, width, height, size: int, grey: bool = False) -> None:  # type: ignore[no-untyped-def]
    box = slide.shapes.add_textbox(left, top, width, height)
    _fill(box.text_frame, text, size, grey=grey)


def _place(shape, left, top, width, height) -> None:  # type: ignore[no-untyped-def]
    shape.left, shape.top, shape.width, shape.height = left, top, width, height


def _widescreen(prs) -> None:  # type: ignore[no-untyped-def]
    """Stretch the template's master and layouts from 4:3 to 16:9, so placeholders inherit
    positions that fit the slide (PowerPoint's own widescreen template does the same)."""
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    for owner in (prs.slide_master, *prs.slide_layouts):
        for shape in owner.placeholders:
            shape.left = int(shape.left * SLIDE_WIDTH / _TEMPLATE_WIDTH)
            shape.width = int(shape.width * SLIDE_WIDTH / _TEMPLATE_WIDTH)


def _native_chart(slide, chart: NativeChart, lang: str, left, top, width, height) -> None:  # type: ignore[no-untyped-def]
    """The chart as a PowerPoint chart object (editable, data in an embedded workbook) in the
    reader's units (slides.deck_chart: 万 / 亿 in Chinese), or a table for kind "table"."""
    chart = deck_chart(chart, lang)
    if chart.kind == "table":
        _table(slide, chart, left, top, width, height)
        return
    data: CategoryChartData | XyChartData
    if chart.kind == "xy":
        data = XyChartData()
        for name, points in chart.points:
            series = data.add_series(name)
            for x, y in points:
                series.add_data_point(x, y)
    else:
        data = CategoryChartData(number_format=chart.number_format)
        data.categories = list(chart.categories)
        for name, values in chart.series:
            data.add_series(name, values)
    frame = slide.shapes.add_chart(_CHART_TYPES[chart.kind], left, top, width, height, data)
    c = frame.chart
    c.font.size = Pt(14)
    c.font.name = LATIN_FONT
    _east_asian(c.font._rPr)
    n_series = len(chart.points if chart.kind == "xy" else chart.series)
    c.has_legend = n_series > 1
    if c.has_legend:
        c.legend.position = XL_LEGEND_POSITION.BOTTOM
        c.legend.include_in_layout = False
    c.has_title = False  # the slide's title placeholder holds it
    value_axis = c.value_axis
    value_axis.tick_labels.number_format = chart.number_format
    value_axis.tick_labels.number_format_is_linked = False
    value_axis.has_major_gridlines = True
    if chart.axis_title:
        _fill(value_axis.axis_title.text_frame, chart.axis_title, 12, grey=True)
    if chart.kind == "xy":
        x_axis = c.category_axis
        x_axis.tick_labels.number_format = chart.number_format
        x_axis.tick_labels.number_format_is_linked = False
        x_axis.maximum_scale = value_axis.maximum_scale = 1.0
        x_axis.minimum_scale = value_axis.minimum_scale = 0.0
        return
    if chart.kind == "bar":
        c.category_axis.reverse_order = True  # first step on top, as a funnel reads
    if n_series == 1 and len(chart.categories) <= _MAX_LABELLED:
        plot = c.plots[0]
        plot.has_data_labels = True
        plot.data_labels.number_format = chart.number_format
        plot.data_labels.number_format_is_linked = False
    if chart.kind == "stacked":
        c.plots[0].overlap = 100
    for i in chart.highlighted:
        fill = c.plots[0].series[0].points[i].format.fill
        fill.solid()
        fill.fore_color.rgb = _WARNING


def _table(slide, chart: NativeChart, left, top, width, height) -> None:  # type: ignore[no-untyped-def]
    rows, cols = len(chart.rows) + 1, len(chart.categories)
    row_height = min(Emu(int(height / rows)), Inches(0.5))
    table = slide.shapes.add_table(rows, cols, left, top, width, row_height * rows).table
    for j, header in enumerate(chart.categories):
        _fill(table.cell(0, j).text_frame, header, 14, bold=True)
    for i, row in enumerate(chart.rows, start=1):
        for j, value in enumerate(row):
            _fill(table.cell(i, j).text_frame, value, 13)


def file_name(kind: str, lang: str, as_of: dt.date | None) -> str:
    """The download's file name with the data date: 客户关系分析-2026-10-31.pptx (zh),
    crm-review-2026-10-31-en.pptx (en); without a date, no date."""
    stem = i18n.t("present.file_stem", lang)
    date = f"-{as_of:%Y-%m-%d}" if as_of else ""
    suffix = "" if lang == "zh" else f"-{lang}"
    return f"{stem}{date}{suffix}.{kind}"


def notes_text(s: Slide, lang: str) -> str:
    """A slide's speaker notes: the takeaway, the figure's definition, the active filters."""
    parts = [s.takeaway]
    if s.definition:
        parts.append(i18n.t("present.notes_definition", lang, definition=s.definition))
    if s.filters_line:
        parts.append(s.filters_line)
    return "\n".join(parts)


def build_deck(slides: list[Slide], lang: str, as_of: dt.date | None = None) -> bytes:
    """A 16:9 PPTX: a title slide, then one slide per chart, its title in the title placeholder,
    the takeaway under it, the chart as a native (editable) chart or table where the slide has
    one and a picture otherwise, the active filters at the bottom, and the takeaway, definition
    and filters in the speaker notes."""
    prs = Presentation()
    _widescreen(prs)
    first = prs.slides.add_slide(prs.slide_layouts[TITLE_LAYOUT])
    _fill(first.shapes.title.text_frame, i18n.t("present.deck_title", lang), 40, bold=True)
    date = i18n.fmt_date(as_of or dt.date.today(), lang)
    subtitle = i18n.t("present.deck_subtitle", lang, date=date)
    if slides and slides[0].filters_line:
        subtitle += "\n" + slides[0].filters_line
    _fill(first.placeholders[1].text_frame, subtitle, 20, grey=True)
    margin, width = Inches(0.6), SLIDE_WIDTH - Inches(1.2)
    for s in slides:
        page = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY_LAYOUT])
        title = page.shapes.title
        _place(title, margin, Inches(0.25), width, Inches(0.85))
        _fill(title.text_frame, s.title, 30, bold=True)
        title.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
        _text(page, s.takeaway, margin, Inches(1.1), width, Inches(0.75), 18)
        top, height = Inches(1.9), Inches(4.95)
        if s.chart is not None:
            _native_chart(page, s.chart, lang, margin, top, width, height)
        else:
            # Only a picture can show it (a Sankey, say): 1000 x 560 px, centred.
            png = images.figure_image(presentation_style(s.figure))
            pic_width = Emu(int(height * images.WIDTH / images.HEIGHT))
            left = int((SLIDE_WIDTH - pic_width) / 2)
            page.shapes.add_picture(io.BytesIO(png), left, top, width=pic_width, height=height)
        if s.filters_line:
            _text(page, s.filters_line, margin, Inches(6.95), width, Inches(0.4), 11, grey=True)
        _fill(page.notes_slide.notes_text_frame, notes_text(s, lang), 12)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


# Paper per language: A4 where the Chinese reader prints, US Letter for the English one.
PAPER = {"zh": "A4", "en": "Letter"}
# Report chart images: the slide's aspect a little flatter, so a title block and two charts fit
# the first page and two charts each later one; 20 px type on 1000 px printed ~180 mm wide is
# about 10 pt.
REPORT_WIDTH, REPORT_HEIGHT = 1000, 500


def report_figure(fig):  # type: ignore[no-untyped-def]
    """A slide's figure as printed in the report: no chart title (the section heading is the
    title), projector-sized type."""
    return presentation_style(fig)


def build_html(slides: list[Slide], lang: str, as_of: dt.date | None = None) -> str:
    """A self-contained HTML report, printed on A4 (zh) or Letter (en): a title block, then one
    section per slide (heading, takeaway, filters line, chart as an embedded PNG), two per page."""
    title = i18n.t("present.deck_title", lang)
    date = i18n.fmt_date(as_of or dt.date.today(), lang)
    paper = PAPER.get(lang, "A4")
    parts = [
        "<!doctype html><html lang='{}'><head><meta charset='utf-8'><title>{}</title>".format(
            "zh-CN" if lang == "zh" else "en", html.escape(title)
        ),
        f"<style>@page{{size:{paper} portrait;margin:12mm 14mm}}"
        "body{font-family:'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',"
        "sans-serif;margin:0;color:#222;font-size:11pt}"
        "header{margin-bottom:4mm} h1{font-size:20pt;margin:0 0 1mm}"
        "header p{margin:0;color:#555}"
        "section{break-inside:avoid;page-break-inside:avoid;margin-bottom:5mm}"
        "h2{font-size:14pt;margin:0 0 1mm} p{margin:0 0 1mm;color:#444}"
        "p.filters{font-size:8.5pt;color:#777}"
        "img{display:block;width:100%;height:auto;max-height:86mm;object-fit:contain}"
        "</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(i18n.t('present.deck_subtitle', lang, date=date))}</p></header>",
    ]
    for s in slides:
        fig = report_figure(s.figure)
        png = images.figure_image(fig, width=REPORT_WIDTH, height=REPORT_HEIGHT)
        data = base64.b64encode(png).decode()
        filters_line = (
            f"<p class='filters'>{html.escape(s.filters_line)}</p>" if s.filters_line else ""
        )
        parts.append(
            f"<section><h2>{html.escape(s.title)}</h2><p>{html.escape(s.takeaway)}</p>"
            f"{filters_line}"
            f"<img alt='{html.escape(s.title)}' src='data:image/png;base64,{data}'></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PDF_TIMEOUT_S = 120.0


def html_to_pdf(document: str) -> bytes:
    """Print an HTML document to PDF with the system's headless Chromium."""
    browser = images._browser()
    with tempfile.TemporaryDirectory(prefix="crm_lens_pdf_") as d:
        src, out = Path(d) / "report.html", Path(d) / "report.pdf"
        src.write_text(document, encoding="utf-8")
        subprocess.run(
            [
                browser,
                *_CHROMIUM_FLAGS,
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


class PdfPrinter:
    """Prints many HTML documents to PDF with one headless Chromium kept open (a cold start
    costs 1-2 s, a print about 0.1 s), driven over the DevTools protocol by choreographer (the
    browser driver kaleido already uses) on a private event loop. The same paper, margins and
    no header or footer as html_to_pdf. Use as a context manager, from one thread."""

    def __init__(self) -> None:
        import choreographer

        self._dir = tempfile.TemporaryDirectory(prefix="crm_lens_pdf_")
        # The loop runs on a thread of its own, so a caller whose thread already runs a loop
        # (a web server, a browser test) can print too.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="crm-lens-pdf", daemon=True
        )
        self._thread.start()
        self._count = 0
        self._closed = False
        self._browser: Any = None

        async def start() -> Any:  # choreographer's objects belong to a running loop
            self._browser = choreographer.Browser(path=images._browser(), headless=True)
            await self._browser.open()
            return await self._browser.create_tab("about:blank")

        try:
            self._tab = self._run(start())
            self._command("Page.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Any) -> Any:
        done = asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, PDF_TIMEOUT_S), self._loop)
        return done.result()

    def _command(self, method: str, params: dict[str, Any] | None = None) -> Any:
        answer = self._run(self._tab.send_command(method, params))
        if "error" in answer:
            raise OSError(f"Chromium: {answer['error'].get('message', answer['error'])}")
        return answer.get("result", {})

    def __call__(self, document: str) -> bytes:
        """`document` printed to PDF."""
        self._count += 1
        src = Path(self._dir.name) / f"doc{self._count}.html"
        src.write_text(document, encoding="utf-8")

        async def load() -> Any:
            loaded = self._tab.subscribe_once("Page.loadEventFired")
            answer = await self._tab.send_command("Page.navigate", {"url": src.as_uri()})
            await loaded
            return answer

        try:
            if "error" in (answer := self._run(load())):
                raise OSError(f"Chromium: {answer['error'].get('message', answer['error'])}")
            done = self._command("Page.printToPDF", {"displayHeaderFooter": False})
            return base64.b64decode(done["data"])
        finally:
            src.unlink(missing_ok=True)

    def close(self) -> None:
        """End the browser and remove its files."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._browser is not None:
                with contextlib.suppress(Exception):
                    self._run(self._browser.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
            self._dir.cleanup()
