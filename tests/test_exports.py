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

from crm_core import charts, deck, export, images, slides

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


@needs_chromium
def test_deck_on_demo_data(demo_con) -> None:  # type: ignore[no-untyped-def]
    from pptx import Presentation

    found = slides.all_slides(demo_con, lang="zh")
    assert len(found) >= 3
    prs = Presentation(io.BytesIO(deck.build_deck(found, "zh")))
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)  # 16:9, 13.333 x 7.5 in
    assert len(prs.slides) == len(found) + 1  # title slide + one per chart
    for s, page in zip(found, list(prs.slides)[1:], strict=True):
        texts = [sh.text_frame.text for sh in page.shapes if sh.has_text_frame]
        assert texts[:2] == [s.title, s.takeaway]
        pictures = [sh for sh in page.shapes if sh.shape_type == 13]
        assert len(pictures) == 1 and len(pictures[0].image.blob) > 10_000


@needs_chromium
def test_cli_deck_and_pdf_report(demo_db_file: Path, tmp_path: Path) -> None:
    for cmd, out in (("deck", tmp_path / "d.pptx"), ("report", tmp_path / "r.pdf")):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "crm_core",
                cmd,
                "--db",
                str(demo_db_file),
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
    found = slides.all_slides(demo_con, lang="en")
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
