"""A demo database whose cells and file names carry Markdown / HTML payloads (page and browser
tests check that every page shows them as plain text)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from crm_core import ingest
from crm_core.engine import config, db

EVIL = "evil.example"
LINK = "[Session expired](https://evil.example/login)"
IMAGE = "![x](https://evil.example/t.png)"
ANCHOR = '<a href="https://evil.example/a">x</a>'
BOLD = "**bold**"
LATEX = "$x$"
COLOUR = ":red[x]"
BARE_URL = "https://evil.example/bare"
HOSTILE = (LINK, IMAGE, ANCHOR, BOLD, LATEX, COLOUR, BARE_URL)
# A file whose name is a Markdown link: the sidebar's "last load" shows it on every page.
FILE_NAME = "[Session expired](https://evil.example/f).csv"

# (table file, column, demo value, hostile value): one cell value per filter dimension and per
# name a page prints (stage, category, owner, complaint category).
REPLACEMENTS = (
    ("customers", "区域", "华东", LINK),
    ("customers", "客户来源", "网络线索", IMAGE),
    ("leads", "线索来源", "网络线索", IMAGE),
    ("customers", "销售顾问", "张伟", ANCHOR),
    ("leads", "销售顾问", "张伟", ANCHOR),
    ("interactions", "跟进人", "张伟", ANCHOR),
    ("customers", "客户类型", "个人", BARE_URL),
    ("orders", "品类", "保险续保", f"{BOLD} {LATEX} {COLOUR} {ANCHOR}"),
    ("complaints", "投诉类别", "服务态度", f"{LINK} {ANCHOR}"),
    ("complaints", "处理人", "高俊", IMAGE),
    ("leads", "销售阶段", "报价", f"{LINK} <img src=https://evil.example/s.png>"),
)


def build_hostile_db(path: Path) -> Path:
    """Load the demo CSVs with the hostile replacements into `path`, then append the customers
    once more under FILE_NAME (same rows: only the load history changes)."""
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for table in ("customers", "orders", "leads", "interactions", "complaints"):
            df = pd.read_csv(
                config.DEMO_DIR / f"{table}.csv",
                dtype=str,
                keep_default_na=False,
                encoding="utf-8-sig",
            )
            for t, column, old, new in REPLACEMENTS:
                if t == table:
                    df[column] = df[column].replace(old, new)
            out = Path(tmp) / f"{table}.csv"
            df.to_csv(out, index=False, encoding="utf-8")
            sources.append(ingest.Source(out, table))
        con = db.connect(path)
        ingest.load(con, sources, "replace")
        ingest.load(
            con, [ingest.Source(Path(tmp) / "customers.csv", "customers", name=FILE_NAME)], "append"
        )
        con.close()
    return path
