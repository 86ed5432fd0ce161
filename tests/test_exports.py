"""Static images with Chinese text, the PPTX deck, the PDF report, formula-safe table exports."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest
from conftest import ROOT

from crm_core.app import meeting
from crm_core.present import charts, deck, export, images, slides

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="static images need Debian's chromium (apt-get install chromium); CI installs it",
)


def _png(title: str) -> bytes:
    fig = charts.themed(go.Figure(go.Bar(x=["华东", "华北"], y=[3, 5])), title)
    return images.figure_image(fig, "png", width=500, height=300, scale=1)


@needs_chromium
def test_chinese_png_uses_a_cjk_font() -> None:
    from PIL import Image

    a, b = _png("客户价值金字塔"), _png("投诉趋势分析图")
    img = Image.open(io.BytesIO(a)).convert("L")
    assert img.size == (500, 300)
    lo, hi = img.getextrema()
    assert hi - lo > 100, "the image is blank"
    # Without a CJK font every Chinese character is the same "tofu" box, so two different
    # titles of equal length render identically; with the font they differ.
    assert a != b
    fc = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    assert fc.stdout.strip(), "no CJK font installed (apt-get install fonts-noto-cjk)"


@needs_chromium
def test_svg_export() -> None:
    fig = charts.themed(go.Figure(go.Bar(x=["a"], y=[1])), "销售额")
    svg = images.figure_image(fig, "svg").decode()
    assert svg.startswith("<svg") and "销售额" in svg


def _deck(con, lang: str):  # type: ignore[no-untyped-def]
    from pptx import Presentation

    found = meeting.all_slides(con, lang=lang)
    data = deck.build_deck(found, lang, meeting.data_date(con))
    return found, Presentation(io.BytesIO(data))  # opened back with python-pptx


def test_deck_is_a_real_powerpoint_deck(demo_con) -> None:  # type: ignore[no-untyped-def]
    from pptx.enum.shapes import PP_PLACEHOLDER

    found, prs = _deck(demo_con, "zh")
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)  # 16:9, 13.333 x 7.5 in
    pages = list(prs.slides)
    assert len(pages) == len(found) + 1  # title slide + one per chart
    # Every slide's title sits in the title placeholder (outline view, slide navigation).
    assert pages[0].shapes.title.text == "客户关系分析报告"
    for s, page in zip(found, pages[1:], strict=True):
        title = page.shapes.title
        assert title is not None and title.text == s.title, s.key
        assert title.placeholder_format.type in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)
        # Fits the 16:9 slide (the default template's layouts are 4:3).
        assert title.left + title.width <= prs.slide_width
        texts = [sh.text_frame.text for sh in page.shapes if sh.has_text_frame]
        assert s.takeaway in texts and "筛选：无（全部数据）" in texts, s.key
        # Speaker notes: the takeaway, then the definition, in Chinese.
        notes = page.notes_slide.notes_text_frame.text
        assert notes.startswith(s.takeaway + "\n口径：" + s.definition), s.key
        assert s.definition and any("\u4e00" <= ch <= "\u9fff" for ch in s.definition)
    charts = [sh.chart for page in pages for sh in page.shapes if sh.has_chart]
    assert len(charts) >= 5
    # Only a picture where PowerPoint has no such chart: the demo deck has none.
    assert not [sh for page in pages for sh in page.shapes if sh.shape_type == 13]
    tables = [sh.table for page in pages for sh in page.shapes if sh.has_table]
    assert len(tables) == 1  # the RFM segments


def test_deck_charts_hold_the_slide_data(demo_con) -> None:  # type: ignore[no-untyped-def]
    from pptx.enum.chart import XL_CHART_TYPE

    found, prs = _deck(demo_con, "zh")
    by_key = {s.key: page for s, page in zip(found, list(prs.slides)[1:], strict=True)}

    def chart(key: str):  # type: ignore[no-untyped-def]
        return next(sh.chart for sh in by_key[key].shapes if sh.has_chart)

    slide = {s.key: s for s in found}
    revenue = chart("overview.revenue")
    assert revenue.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED
    # Twelve months of the default period, 2025-11 to 2026-10, labelled in Chinese.
    cats = list(revenue.plots[0].categories)
    assert len(cats) == 12 and cats[0] == "2025年11月" and cats[-1] == "2026年10月"
    # Monthly net revenue runs in the tens of millions of yuan: the deck shows it in 万元
    # (each value / 10^4, over 100万 -> no decimals), as the axis title says.
    assert revenue.value_axis.tick_labels.number_format == "#,##0"
    assert not revenue.value_axis.tick_labels.number_format_is_linked
    assert revenue.value_axis.axis_title.text_frame.text == "单位：万元"
    values = revenue.plots[0].series[0].values
    yuan = slide["overview.revenue"].chart.series[0][1]  # type: ignore[union-attr]
    assert values == pytest.approx([v / 10_000 for v in yuan]) and max(values) > 100
    assert revenue.plots[0].series[0].name == "月度销售额（万元）"
    # Funnels are horizontal bars, first step on top, with the Chinese step names.
    funnel = chart("lifecycle.funnel")
    assert funnel.chart_type == XL_CHART_TYPE.BAR_CLUSTERED
    assert list(funnel.plots[0].categories) == [
        "已建档客户", "考察期（已购买）", "形成期（重复购买）", "稳定期"
    ]  # fmt: skip
    assert funnel.category_axis.reverse_order
    # A funnel never increases: known >= bought >= bought again >= stable.
    counts = funnel.plots[0].series[0].values
    assert list(counts) == sorted(counts, reverse=True) and counts[0] == 5000
    # Shares in percent on the axis: the pyramid and both axes of the Pareto curve.
    pyramid = chart("pyramid.tiers")
    assert list(pyramid.plots[0].categories) == ["钻石", "黄金", "白银", "普通"]
    assert pyramid.value_axis.tick_labels.number_format == "0%"
    # The four buying tiers' shares of their net revenue add up to 1.
    assert abs(sum(pyramid.plots[0].series[0].values) - 1) < 1e-9
    pareto = chart("pyramid.pareto")
    assert pareto.chart_type == XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS
    assert pareto.value_axis.tick_labels.number_format == "0%"
    assert pareto.category_axis.tick_labels.number_format == "0%"
    # Lost customers stack below the axis, as on the Lifecycle page.
    new_lost = chart("lifecycle.new_lost")
    assert new_lost.chart_type == XL_CHART_TYPE.COLUMN_STACKED
    assert [s.name for s in new_lost.plots[0].series] == ["新增客户", "流失客户"]
    assert all(v <= 0 for v in new_lost.plots[0].series[1].values)
    # The chart's embedded workbook opens with the data (editable in PowerPoint).
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(revenue.part.chart_workbook.xlsx_part.blob))
    assert wb.active["A2"].value == "2025年11月"


def test_deck_in_english_has_english_notes(demo_con) -> None:  # type: ignore[no-untyped-def]
    found, prs = _deck(demo_con, "en")
    notes = list(prs.slides)[1].notes_slide.notes_text_frame.text
    assert notes.split("\n") == [
        found[0].takeaway,
        "Definition: " + found[0].definition,
        "Filters: none (all data)",
    ]


def test_deck_and_report_file_names_carry_the_data_date() -> None:
    import datetime as dt

    day = dt.date(2026, 10, 31)
    assert deck.file_name("pptx", "zh", day) == "客户关系分析-2026-10-31.pptx"
    assert deck.file_name("pdf", "en", day) == "crm-review-2026-10-31-en.pdf"
    assert deck.file_name("html", "en", None) == "crm-review-en.html"


def test_data_date_is_the_filter_end_else_the_last_order(demo_con) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from crm_core.metrics.filters import Filters

    assert meeting.data_date(demo_con) == dt.date(2026, 10, 31)  # the demo's last order
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    assert meeting.data_date(demo_con, f) == dt.date(2026, 3, 31)


@needs_chromium
def test_deck_falls_back_to_a_picture_without_a_native_chart() -> None:
    from pptx import Presentation

    fig = charts.themed(
        go.Figure(
            go.Sankey(
                node={"label": ["华东", "华北"]}, link={"source": [0], "target": [1], "value": [3]}
            )
        ),
        "流向",
    )
    only = slides.Slide("x.sankey", "客户流向", "华东流向华北", fig)
    prs = Presentation(io.BytesIO(deck.build_deck([only], "zh")))
    page = list(prs.slides)[1]
    assert page.shapes.title.text == "客户流向"
    pictures = [sh for sh in page.shapes if sh.shape_type == 13]
    assert len(pictures) == 1 and not [sh for sh in page.shapes if sh.has_chart]


def _fold(text: str) -> str:
    import unicodedata

    # The CJK font maps some ideographs to Kangxi radicals (⽉ for 月): NFKC folds them back
    # (and full-width punctuation to ASCII, on both sides), except ⼾, which folds to the
    # traditional 戶 of the 户 drawn.
    return unicodedata.normalize("NFKC", text).replace("戶", "户")


def _pdf_pages(pdf: bytes) -> list[str]:
    import pypdf

    return [_fold(pg.extract_text()) for pg in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@needs_chromium
@pytest.mark.parametrize(("lang", "size"), [("zh", (595, 842)), ("en", (612, 792))])
def test_pdf_report_paper_and_first_page(demo_con, lang: str, size) -> None:  # type: ignore[no-untyped-def]
    import pypdf

    found = meeting.all_slides(demo_con, lang=lang)
    pdf = deck.html_to_pdf(deck.build_html(found, lang, meeting.data_date(demo_con)))
    # A4 = 210 x 297 mm = 595 x 842 pt; US Letter = 8.5 x 11 in = 612 x 792 pt.
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == size
    pages = _pdf_pages(pdf)
    # No half-empty first page: the title block and the first two charts share it.
    assert _fold(found[0].title) in pages[0] and _fold(found[1].title) in pages[0]
    # No repeated titles: each section heading is printed once in the whole report.
    text = "".join(pages)
    for s in found:
        assert text.count(_fold(s.title)) == 1, s.title


@needs_chromium
def test_one_kept_open_printer_prints_each_document_as_the_one_off_printer() -> None:
    import pypdf

    docs = [
        f"<!doctype html><html><head><meta charset='utf-8'></head><body><h1>周报 {n}</h1>"
        f"<p>page {n}</p></body></html>"
        for n in (1, 2, 3)
    ]
    with deck.PdfPrinter() as printer:
        printed = [printer(doc) for doc in docs]
    once = deck.html_to_pdf(docs[1])
    for n, pdf in enumerate(printed, 1):
        assert pdf.startswith(b"%PDF-")
        (page,) = _pdf_pages(pdf)
        assert page.split() == ["周报", str(n), "page", str(n)]
    # The same paper as the one-off printer: US Letter = 8.5 x 11 in = 612 x 792 pt.
    boxes = [pypdf.PdfReader(io.BytesIO(p)).pages[0].mediabox for p in (printed[1], once)]
    assert [(round(float(b.width)), round(float(b.height))) for b in boxes] == [(612, 792)] * 2
    assert _pdf_pages(once) == _pdf_pages(printed[1])


def test_the_kept_open_printer_prints_from_a_thread_that_runs_an_event_loop() -> None:
    # A web server's or a browser test's thread already runs a loop; the printer's own loop
    # runs on a thread of its own, so it prints there too.
    import asyncio
    import threading

    doc = (
        "<!doctype html><html><head><meta charset='utf-8'></head><body><h1>周报</h1></body></html>"
    )

    async def inside() -> bytes:
        with deck.PdfPrinter() as printer:
            return printer(doc)

    # A fresh thread: this test's own thread may already run a loop (a browser test's).
    made: list[bytes] = []
    worker = threading.Thread(target=lambda: made.append(asyncio.run(inside())))
    worker.start()
    worker.join(timeout=120)
    (pdf,) = made
    assert pdf.startswith(b"%PDF-") and _pdf_pages(pdf)[0].split() == ["周报"]


def test_report_charts_have_no_title_and_large_type(demo_con, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[go.Figure, int]] = []

    def capture(fig, fmt="png", width=images.WIDTH, **k):  # type: ignore[no-untyped-def]
        seen.append((fig, width))
        return b"\x89PNG fake"

    monkeypatch.setattr(images, "figure_image", capture)
    found = meeting.all_slides(demo_con, lang="zh")
    doc = deck.build_html(found, "zh")
    assert "size:A4" in doc and len(seen) == len(found)
    for fig, width in seen:
        # The section heading is the title; the chart does not repeat it.
        assert not fig.layout.title.text
        # 20 px type on a 1000 px image printed ~180 mm wide: about 10 pt.
        assert fig.layout.font.size >= 20 and width == 1000


@needs_chromium
def test_cli_deck_and_pdf_report(demo_copy: Path, tmp_path: Path) -> None:
    # A copy: the CLI records each export in the database's audit log.
    for cmd, out in (("deck", tmp_path / "d.pptx"), ("report", tmp_path / "r.pdf")):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "crm_core",
                cmd,
                "--db",
                str(demo_copy),
                "--lang",
                "en",
                "--out",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        assert out.stat().st_size > 20_000
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_html_report_is_self_contained(demo_con, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(images, "figure_image", lambda fig, fmt="png", **k: b"\x89PNG fake")
    found = meeting.all_slides(demo_con, lang="en")
    doc = deck.build_html(found, "en")
    assert doc.count("<section>") == len(found)
    assert "data:image/png;base64," in doc and "http" not in doc.split("<body>")[1]


def test_table_exports_neutralise_formulas() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+cmd", "@SUM(1)", "-2+3", "安全"],
            "n": [1, 2, 3, 4, 5],
        }
    )
    text = export.safe_csv(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM(1)" in text and "'-2+3" in text
    xlsx = export.safe_xlsx(df)
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws["A2"].value == '=HYPERLINK("http://x")' and ws["A2"].data_type == "s"


# A region value a user typed into a CSV: a spreadsheet formula (OWASP "CSV injection") and a
# path that climbs out of a folder. Neither may break a file name or run in a spreadsheet.
FORMULA = "=cmd|' /C calc'!A0"
CLIMB = "../x"


def test_download_names_carry_the_data_date_and_filters() -> None:
    import datetime as dt

    from crm_core.metrics.filters import Filters

    as_of = dt.date(2026, 10, 31)
    assert export.file_name("overdue-leads", "csv", Filters(), "zh", as_of) == (
        "overdue-leads_数据至2026-10-31.csv"
    )
    assert export.file_name("overdue-leads", "xlsx", Filters(), "en", as_of) == (
        "overdue-leads_2026-10-31.xlsx"
    )
    # A set period replaces the data date; each set dimension follows as label-value.
    f = Filters(dt.date(2024, 1, 1), dt.date(2024, 3, 31), region="华东", owner="张伟")
    assert export.file_name("逾期线索", "csv", f, "zh", as_of) == (
        "逾期线索_2024-01-01至2024-03-31_区域-华东_负责人-张伟.csv"
    )
    # "Source / channel": the slash and spaces become one "-".
    assert export.file_name("x", "csv", Filters(source="线上"), "en", None) == (
        "x_Source-channel-线上.csv"
    )
    # Customer type does not apply to leads: a leads table is not named by it.
    f = Filters(region="华东", segment="企业")
    assert export.file_name("leads", "csv", f, "zh", as_of, "leads") == (
        "leads_数据至2026-10-31_区域-华东.csv"
    )
    # The scope of a signed-in user, values joined by "+".
    f = Filters(regions=("华东", "华南"))
    assert (
        export.file_name("t", "csv", f, "zh", as_of) == "t_数据至2026-10-31_权限区域-华东+华南.csv"
    )


def test_download_names_keep_hostile_values_harmless() -> None:
    import datetime as dt
    import re

    from crm_core.metrics.filters import Filters

    as_of = dt.date(2026, 10, 31)
    # "=cmd|' /C calc'!A0": "=" and "|' /" and "'!" are runs of unsafe characters -> "-",
    # trimmed at the ends: "cmd-C-calc-A0". "../x": "../" -> "-", trimmed: "x".
    name = export.file_name("t", "csv", Filters(region=FORMULA), "zh", as_of)
    assert name == "t_数据至2026-10-31_区域-cmd-C-calc-A0.csv"
    name = export.file_name("t", "csv", Filters(region=CLIMB), "en", as_of)
    assert name == "t_2026-10-31_Region-x.csv"
    for value in (FORMULA, CLIMB, "a/b\\c", "x\u202egpj.exe", "..", "\x00\n", '*?<>:"|'):
        for lang in ("zh", "en"):
            name = export.file_name("t", "csv", Filters(owner=value), lang, as_of)
            # One path component, no leading dot or dash, only letters, digits, "_", "-", "+".
            assert re.fullmatch(r"[\w+-]+\.csv", name) and not name.startswith(("-", ".")), name
            assert "/" not in name and "\\" not in name and ".." not in name
    # A value with nothing safe left keeps its label; long values are cut to MAX_VALUE (24)
    # characters; tokens past MAX_NAME (80) are left out and marked.
    assert export.file_name("t", "csv", Filters(owner="///"), "en", None) == "t_Owner.csv"
    long = Filters(region="华" * 40, owner="张" * 40, source="线" * 40, category="品" * 40)
    name = export.file_name("t", "csv", long, "zh", as_of)
    # t_数据至2026-10-31 (15) + _区域-华x24 (28) + _来源-渠道-线x24 (31) = 74; the owner token
    # (28) would pass 80: "_等" instead.
    assert name == "t_数据至2026-10-31_区域-" + "华" * 24 + "_来源-渠道-" + "线" * 24 + "_等.csv"
    assert len(name) - len(".csv") <= export.MAX_NAME


def test_excel_download_has_the_table_first_and_the_filters_second(tmp_path: Path) -> None:
    import datetime as dt

    import pandas as pd
    from openpyxl import load_workbook

    from crm_core.metrics.filters import Filters

    df = pd.DataFrame({"客户": ["A", "B"], "金额": [1.5, 2.25]})
    f = Filters(region=FORMULA, owner=CLIMB, regions=(FORMULA, "华东"))
    period = (dt.date(2025, 11, 1), dt.date(2026, 10, 31))
    about = export.about_sheet(f, "zh", dt.date(2026, 10, 31), len(df), "orders", period)
    path = tmp_path / "t.xlsx"
    path.write_bytes(export.safe_xlsx(df, "逾期线索", about))
    # A script reading the workbook gets the table as before: the first sheet, from A1.
    pd.testing.assert_frame_equal(pd.read_excel(path), df)
    wb = load_workbook(path)
    assert wb.sheetnames == ["逾期线索", "筛选与日期"]
    rows = [tuple(c.value for c in r) for r in wb["筛选与日期"].iter_rows()]
    assert rows == [
        ("项目", "内容"),
        (
            "筛选",
            f"筛选：期间 2025年11月1日 至 2026年10月31日；区域 = {FORMULA}；负责人 = {CLIMB}；"
            f"权限范围 区域：{FORMULA}、华东",
        ),
        ("数据日期", "2026-10-31"),
        ("行数", 2),
        ("区域", FORMULA),
        ("负责人", CLIMB),
        ("权限范围（区域）", f"{FORMULA}、华东"),
    ]
    # The formula is kept as text: shown, never evaluated.
    cell = wb["筛选与日期"]["B5"]
    assert cell.value == FORMULA and cell.data_type == "s"
    # English, and a filter that does not apply to the table is said.
    name, en = export.about_sheet(Filters(segment="企业"), "en", None, 0, "leads")
    assert name == "Filters and date"
    assert en[1] == ("Filters", "Filters: Customer type = 企业")
    assert en[2] == (
        "Filters not applied",
        "The Customer type filter does not apply to leads: this section is not filtered by it.",
    )
    assert en[3:5] == [("Data date", ""), ("Rows", 0)]


def _chart_deck(lang: str):  # type: ignore[no-untyped-def]
    from pptx import Presentation

    revenue = slides.NativeChart(
        "column", ("1月", "2月"), (("净收入", (12_345_678.9, 2_500_000.0)),), money=True
    )
    index = slides.NativeChart(
        "column", ("订单",), (("上周", (100.0,)), ("本周", (25_000.0,))), scalable=False
    )
    found = [
        slides.Slide("a", "收入", "说明", go.Figure(), revenue),
        slides.Slide("b", "指数", "说明", go.Figure(), index),
    ]
    prs = Presentation(io.BytesIO(deck.build_deck(found, lang)))
    return [next(sh.chart for sh in page.shapes if sh.has_chart) for page in list(prs.slides)[1:]]


def test_deck_money_axes_read_in_wan_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_LENS_CURRENCY", raising=False)
    revenue, index = _chart_deck("zh")
    axis = revenue.value_axis
    # 12,345,678.9 / 10^4 = 1,234.56789 and 2,500,000 / 10^4 = 250 (万元); over 100 -> "#,##0".
    assert axis.tick_labels.number_format == "#,##0"
    assert axis.has_title and axis.axis_title.text_frame.text == "单位：万元"
    series = revenue.plots[0].series[0]
    assert series.name == "净收入（万元）"
    assert list(series.values) == pytest.approx([1234.56789, 250.0])
    assert revenue.plots[0].data_labels.number_format == "#,##0"
    # An index is not a count: 25,000 stays 25,000, no unit.
    assert index.plots[0].series[1].values == (25_000.0,)
    assert not index.value_axis.has_title


def test_deck_money_axes_in_english_keep_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_LENS_CURRENCY", raising=False)
    revenue, _ = _chart_deck("en")
    # Values as they are; 12,345,678.9 >= 1,000,000: the axis reads 12.3M (Excel's ",,").
    assert revenue.value_axis.tick_labels.number_format == '#,##0.0,,"M"'
    assert revenue.plots[0].series[0].values == (12_345_678.9, 2_500_000.0)
    assert not revenue.value_axis.has_title
