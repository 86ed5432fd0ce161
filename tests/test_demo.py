"""The demo generator: same seed gives the same bytes, and every header maps to its table."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from crm_core.engine import schema
from crm_core.ingest import demo, matching


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {t: hashlib.sha256(p.read_bytes()).hexdigest() for t, p in paths.items()}


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return demo.generate(tmp_path_factory.mktemp("demo"))


def test_same_seed_gives_identical_files(demo_files: dict[str, Path], tmp_path: Path) -> None:
    again = demo.generate(tmp_path / "again")
    assert _digests(again) == _digests(demo_files)


def test_writes_one_bom_csv_per_table(demo_files: dict[str, Path]) -> None:
    assert set(demo_files) == set(schema.TABLES)
    for table, path in demo_files.items():
        assert path.name == f"{table}.csv"
        assert path.read_bytes().startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_headers_are_detected_and_all_mapped(demo_files: dict[str, Path], table: str) -> None:
    headers = _rows(demo_files[table])[0]
    best, mappings = matching.detect_table(headers)
    assert best == table
    mapping = mappings[table]
    assert sorted(mapping) == sorted(headers), f"unmapped: {set(headers) - set(mapping)}"
    assert len(set(mapping.values())) == len(headers)


def test_values_use_the_documented_formats(demo_files: dict[str, Path]) -> None:
    orders = _rows(demo_files["orders"])
    head, body = orders[0], orders[1:]
    col = {h: i for i, h in enumerate(head)}
    ts = re.compile(r"^[12]\d{3}/[1-9]\d?/[1-9]\d? (1?\d|2[0-3]):[0-5]\d$")  # 2024/1/31 9:05
    money = re.compile(r"^-?\d+\.\d\d$")
    end = dt.datetime(2026, 10, 31, 23, 59)
    assert all(re.fullmatch(r"SO\d{7}", r[col["订单编号"]]) for r in body)
    assert len({r[col["订单编号"]] for r in body}) == len(body)
    assert all(re.fullmatch(r"C\d{5}", r[col["客户编号"]]) for r in body)
    assert all(ts.match(r[col["下单时间"]]) for r in body)
    assert all(money.match(r[col["实付金额"]]) and money.match(r[col["成本"]]) for r in body)
    assert max(dt.datetime.strptime(r[col["下单时间"]], "%Y/%m/%d %H:%M") for r in body) <= end
    returns = [r for r in body if r[col["订单状态"]] == "退货"]
    assert 0.015 < len(returns) / len(body) < 0.025
    assert all(float(r[col["实付金额"]]) < 0 and int(r[col["数量"]]) < 0 for r in returns)
