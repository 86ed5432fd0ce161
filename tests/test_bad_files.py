"""The bad-file corpus (tests/fixtures/bad/): every broken export is refused with a message naming
the file, row and column, and leaves the database exactly as it was; the awkward-but-valid ones
load with the documented counts. The table of outcomes is tests/fixtures/bad/README.md."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core import ingest
from crm_core.engine import db
from crm_core.engine.schema import TABLES
from crm_core.metrics.figures import metrics

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = FIXTURES / "bad"
MODES = ("replace", "append")
# A refused file changes nothing in any mode, replace-all (which empties other tables) included.
REFUSE_MODES = ingest.MODES


@dataclass(frozen=True)
class Case:
    file: str
    error: tuple[str, ...] = ()  # fragments the error message must contain; () = the file loads
    rows: tuple[int, ...] = ()  # bad rows the message must name
    columns: tuple[str, ...] = ()  # bad columns the message must name
    loaded: int = 0
    rejected: int = 0
    returns: int = 0  # lines flagged as returns

    @property
    def table(self) -> str | None:
        """The table named on load: the file name's prefix when it is one (like --orders F)."""
        prefix = self.file.split("_")[0]
        return prefix if prefix in TABLES else None


def refused(file: str, *fragments: str, rows: tuple[int, ...] = (), columns=()) -> Case:
    return Case(file, fragments, rows, tuple(columns))


def loads(file: str, loaded: int, rejected: int = 0, returns: int = 0) -> Case:
    return Case(file, loaded=loaded, rejected=rejected, returns=returns)


CASES = [
    # decoding and the shape of the file
    refused("empty.csv", "the file is empty"),
    refused("bom_only.csv", "the first line is blank", rows=(1,)),
    refused("bom_then_blank_lines.csv", "the first line is blank", rows=(1,)),
    refused("header_only.csv", "has a header but no data rows"),
    refused("binary_junk.csv", "contains NUL bytes"),
    refused(
        "orders_xlsx_renamed_to_csv.csv",
        "not a CSV text export: it looks like an Excel workbook (.xlsx)",
    ),
    refused("orders_xls_renamed_to_csv.csv", "it looks like an old Excel workbook (.xls)"),
    refused("orders_png_renamed_to_csv.csv", "not a CSV text export: it looks like a PNG image"),
    refused("orders_gzipped.csv", "it looks like a gzip-compressed file", "Extract the CSV"),
    refused("random_bytes_no_nul.csv", "not a CSV text export: it holds binary data", rows=(1,)),
    refused("orders_nul_bytes.csv", "contains NUL bytes", rows=(3,)),
    refused("orders_mixed_encoding.csv", "mixes text encodings", rows=(5,)),
    refused("orders_utf16_broken_surrogate.csv", "neither UTF-8 nor utf-16", rows=(3,)),
    refused("orders_utf16_no_bom.csv", "contains NUL bytes"),
    refused("orders_gbk_undecodable_bytes.csv", "neither UTF-8 nor gb18030", rows=(4,)),
    loads("orders_cp1252_accents.csv", 3),
    loads("orders_gb18030_first_bytes_valid_utf8.csv", 3),
    loads("orders_double_bom.csv", 1),
    loads("orders_cr_only_line_endings.csv", 2),
    loads("orders_crlf_quoted_newlines.csv", 3),
    loads("orders_blank_lines_between_rows.csv", 3),
    # header problems
    refused("unknown_table.csv", "cannot tell which table"),
    refused(
        "orders_missing_required_amount.csv", "missing required column(s) for orders: ['amount']"
    ),
    refused(
        "complaints_missing_category.csv",
        "missing required column(s) for complaints: ['category']",
    ),
    refused("interactions_missing_customer.csv", "missing required column(s) for interactions"),
    refused("orders_excel_sep_line.csv", "missing required column(s)"),
    refused("orders_title_rows_before_header.csv", "missing required column(s)"),
    refused("orders_no_header_row.csv", "missing required column(s)"),
    refused("orders_header_unbalanced_quote.csv", "missing required column(s)"),
    refused("customers_html_saved_as_csv.csv", "the header row has unbalanced quotes", rows=(1,)),
    # row shape and quoting
    refused("orders_ragged_rows.csv", "does not fit the header", "Found: 5", rows=(3,)),
    refused("customers_unbalanced_quote.csv", "unterminated quote", rows=(2,)),
    loads("orders_trailing_delimiter.csv", 2),
    loads("orders_inch_mark_unquoted.csv", 2),
    refused(
        "orders_header_repeated_mid_file.csv",
        "not a date/time",
        "not an amount",
        rows=(4,),
        columns=("order_date", "amount"),
    ),
    # values
    refused("orders_garbage_dates.csv", "not a date/time", rows=(3, 4), columns=("order_date",)),
    refused("orders_leap_day_invalid.csv", "not a date/time", rows=(2,), columns=("order_date",)),
    refused("orders_date_with_weekday.csv", "not a date/time", rows=(2,), columns=("order_date",)),
    refused("orders_mixed_date_orders.csv", "not a date/time", rows=(3,), columns=("order_date",)),
    refused("orders_year_9999.csv", "in the future", rows=(3,), columns=("order_date",)),
    refused("orders_future_dates.csv", "in the future", rows=(3,), columns=("order_date",)),
    refused("orders_before_1900.csv", "before 1900", rows=(3,), columns=("order_date",)),
    refused(
        "orders_text_in_amount.csv", "not an amount", "'twenty'", rows=(3,), columns=("amount",)
    ),
    refused(
        "orders_excel_error_values.csv",
        "not an amount",
        "not a date/time",
        "'#VALUE!'",
        "'#REF!'",
        rows=(3, 4, 5),
        columns=("amount", "order_date"),
    ),
    refused("orders_amount_overflow.csv", "not an amount", rows=(3,), columns=("amount",)),
    refused(
        "orders_negative_nan_inf_amounts.csv",
        "not an amount",
        "'NaN'",
        "'inf'",
        "'-Infinity'",
        rows=(3, 4, 5),
        columns=("amount",),
    ),
    refused(
        "orders_line_items_text_unit_price.csv", "not an amount", rows=(4,), columns=("UnitPrice",)
    ),
    refused(
        "complaints_satisfaction_out_of_range.csv",
        "not a 1-5 score",
        rows=(3, 4),
        columns=("satisfaction",),
    ),
    loads("orders_semicolon_comma_decimal.csv", 4),
    loads("orders_formula_injection.csv", 5),
    loads("orders_only_returns.csv", 3, returns=3),
    # keys and blanks
    refused("orders_duplicate_keys.csv", "duplicate order_id", rows=(2, 4), columns=("order_id",)),
    refused(
        "customers_duplicate_ids_after_trim.csv",
        "duplicate customer_id",
        rows=(2, 4),
        columns=("customer_id",),
    ),
    loads("orders_blank_customer_some_rows.csv", 2, rejected=2),
    loads("orders_total_row_at_end.csv", 2, rejected=1),
    refused(
        "orders_comma_rows_only.csv", "every row was rejected", rows=(2, 3), columns=("order_id",)
    ),
    refused(
        "leads_blank_stage_everywhere.csv",
        "every row was rejected",
        rows=(2, 3, 4),
        columns=("stage",),
    ),
]
REFUSED = [c for c in CASES if c.error]
LOADS = [c for c in CASES if not c.error]


# --------------------------------------------------------------------------- helpers


def snapshot(con: db.Connection) -> dict[str, list[tuple]]:
    """Full content of every table of the database (canonical, book-keeping, undo, summaries)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' ORDER BY 1"
        ).fetchall()
    ]
    return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}


def data_tables(snap: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The canonical tables and summaries of a snapshot (what a rollback must restore)."""
    return {
        k: v
        for k, v in snap.items()
        if not k.startswith("_undo_") and k not in ("load_history", "load_rejects")
    }


def assert_names_rows(msg: str, rows: tuple[int, ...]) -> None:
    for r in rows:
        assert re.search(rf"\brows? (\d+, )*{r}\b", msg), f"row {r} not named in:\n{msg}"


def assert_names_columns(msg: str, columns: tuple[str, ...]) -> None:
    for c in columns:
        assert f"'{c}'" in msg or f"({c})" in msg, f"column {c!r} not named in:\n{msg}"


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the known-good customers_bom.csv + orders_gbk.csv (load 1)."""
    path = tmp_path_factory.mktemp("baseline") / "baseline.duckdb"
    con = db.connect(path)
    ingest.load(
        con,
        [
            ingest.Source(FIXTURES / "customers_bom.csv"),
            ingest.Source(FIXTURES / "orders_gbk.csv"),
        ],
    )
    con.close()
    return path


@pytest.fixture
def base_con(baseline_file: Path, tmp_path: Path) -> Iterator[db.Connection]:
    path = tmp_path / "crm.duckdb"
    shutil.copy(baseline_file, path)
    con = db.connect(path)
    yield con
    con.close()


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_complete_and_documented() -> None:
    files = sorted(p.name for p in BAD.iterdir() if p.name != "README.md")
    assert len(files) >= 32
    assert sorted(c.file for c in CASES) == files
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for f in files:
        assert f"`{f}`" in readme, f"{f} is not in tests/fixtures/bad/README.md"
    for p in BAD.iterdir():
        assert p.stat().st_size < 200_000, f"{p.name}: generate big files at test time"


@pytest.mark.parametrize("mode", REFUSE_MODES)
@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.file)
def test_bad_file_is_refused_and_changes_nothing(
    base_con: db.Connection, case: Case, mode: str
) -> None:
    before = snapshot(base_con)
    with pytest.raises(ingest.IngestError) as exc:
        ingest.load(base_con, [ingest.Source(BAD / case.file, case.table)], mode)
    msg = str(exc.value)
    assert case.file in msg
    for fragment in case.error:
        assert fragment in msg, f"{fragment!r} not in:\n{msg}"
    assert_names_rows(msg, case.rows)
    assert_names_columns(msg, case.columns)
    assert len(msg) < 3000, "an error message should be readable, not a dump"
    assert exc.value.reports and not all(r.ok for r in exc.value.reports)
    assert snapshot(base_con) == before
    # The database stays usable after the refusal.
    assert metrics(base_con)["revenue"] == 151534.0


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.file)
def test_validate_reports_the_same_problem(case: Case) -> None:
    reports = ingest.validate([ingest.Source(BAD / case.file, case.table)])
    assert reports and not all(r.ok for r in reports)
    text = "\n".join(r.error_text() for r in reports)
    for fragment in case.error:
        assert fragment in text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", LOADS, ids=lambda c: c.file)
def test_awkward_file_loads_with_counted_rejections(
    base_con: db.Connection, case: Case, mode: str
) -> None:
    before = snapshot(base_con)
    base_orders = len(before["orders"])
    result = ingest.load(base_con, [ingest.Source(BAD / case.file, case.table)], mode)
    (report,) = result.reports
    assert (report.table, report.rows_loaded, report.rows_rejected) == (
        "orders",
        case.loaded,
        case.rejected,
    )
    assert report.rows_read == case.loaded + case.rejected
    hist = base_con.execute(
        "SELECT file_name, rows_read, rows_loaded, rows_rejected, mode, status FROM load_history "
        "WHERE load_id = $id",
        {"id": result.load_id},
    ).fetchall()
    assert hist == [(case.file, report.rows_read, case.loaded, case.rejected, mode, "loaded")]
    rejected_rows = base_con.execute(
        "SELECT count(DISTINCT row_number) FROM load_rejects WHERE load_id = $id",
        {"id": result.load_id},
    ).fetchone()
    assert rejected_rows == (case.rejected,)
    # The file's keys are all new, so append adds to the baseline and replace swaps it out.
    expected = case.loaded + (base_orders if mode == "append" else 0)
    assert base_con.execute("SELECT count(*) FROM orders").fetchone() == (expected,)
    n_ret = base_con.execute(
        "SELECT count(*) FROM orders WHERE is_return AND NOT starts_with(order_id, 'SO')"
    ).fetchone()
    assert n_ret == (case.returns,)
    after = snapshot(base_con)
    assert after["customers"] == before["customers"]
    # Undoing the load gives back exactly the baseline's data.
    assert ingest.rollback_to_before(base_con, result.load_id) == [result.load_id]
    assert data_tables(snapshot(base_con)) == data_tables(before)


# --------------------------------------------------------------------------- values that load


def load_one(con: db.Connection, name: str, path: Path | None = None, **kw) -> ingest.LoadResult:
    return ingest.load(con, [ingest.Source(path or BAD / name, "orders", **kw)], "replace")


def orders_of(con: db.Connection, cols: str) -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM orders ORDER BY order_id").fetchall()


def test_formula_like_cells_are_stored_as_literal_text(base_con: db.Connection) -> None:
    load_one(base_con, "orders_formula_injection.csv")
    with open(BAD / "orders_formula_injection.csv", encoding="utf-8", newline="") as f:
        expected = sorted(
            (r["order_id"], r["product"], Decimal(r["amount"])) for r in csv.DictReader(f)
        )
    got = orders_of(base_con, "order_id, product, amount")
    assert sorted(got) == expected
    products = {p for _, p, _ in got}
    assert '=HYPERLINK("http://evil.example/x","click")' in products
    assert "+cmd|' /C calc'!A0" in products
    assert "@SUM(1)" in products
    assert "-2+3" in products  # not evaluated to 1, not read as a number
    assert ("=1+1",) in base_con.execute("SELECT order_id FROM orders").fetchall()


def test_quoted_newlines_and_crlf_are_kept(base_con: db.Connection) -> None:
    load_one(base_con, "orders_crlf_quoted_newlines.csv")
    assert orders_of(base_con, "order_id, product") == [
        ("Q1", "line one\r\nline two"),
        ("Q2", 'say "hi"\nand, bye'),
        ("Q3", "plain"),
    ]


def test_semicolon_file_with_decimal_commas(base_con: db.Connection) -> None:
    (report,) = load_one(base_con, "orders_semicolon_comma_decimal.csv").reports
    assert report.delimiter == ";"
    assert orders_of(base_con, "order_id, CAST(order_date AS DATE)::VARCHAR, amount") == [
        ("E1", "2024-05-13", Decimal("1234.50")),
        ("E2", "2024-05-14", Decimal("99.5")),
        ("E3", "2024-05-15", Decimal("12")),
        ("E4", "2024-05-16", Decimal("1234.50")),
    ]


def test_cp1252_text_is_decoded(base_con: db.Connection) -> None:
    (report,) = load_one(base_con, "orders_cp1252_accents.csv").reports
    assert report.encoding == "cp1252"
    assert [p for (p,) in orders_of(base_con, "product")] == [
        "Crème brûlée",
        "Müller Würstchen",
        "\u201cdeluxe\u201d \u2013 café set",
    ]


def test_gb18030_file_whose_first_bytes_are_valid_utf8(base_con: db.Connection) -> None:
    # 实 (the first header character) is CA B5 in GB18030: also the valid UTF-8 "ʵ". The next
    # one, 付 = B8 B6, is not UTF-8; the whole file decodes as GB18030, so it is GB18030.
    name = "orders_gb18030_first_bytes_valid_utf8.csv"
    raw = (BAD / name).read_bytes()
    assert raw[:2].decode("utf-8") == "\u02b5"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    (report,) = load_one(base_con, name).reports
    assert (report.encoding, report.rows_loaded) == ("gb18030", 3)
    assert report.headers[0] == "实付金额"
    assert orders_of(base_con, "order_id, customer_id, amount, product") == [
        ("G1", "001", Decimal("1280.00"), "保温杯"),
        ("G2", "002", Decimal("99.50"), "茶叶礼盒"),
        ("G3", "001", Decimal("560"), "电热水壶"),
    ]
    hist = base_con.execute("SELECT encoding FROM load_history WHERE load_id = 2").fetchall()
    assert hist == [("gb18030",)]


def test_utf8_chinese_then_gbk_stays_mixed_although_gb18030_decodes_it() -> None:
    # Its UTF-8 words are all of two or four characters (6 or 12 bytes), so GB18030 reads
    # every byte too (as nonsense): the UTF-8 Chinese before the GBK line decides.
    raw = (BAD / "orders_mixed_encoding.csv").read_bytes()
    raw.decode("gb18030")
    with pytest.raises(ingest.IngestError, match="mixes text encodings"):
        ingest.inspect(ingest.Source(BAD / "orders_mixed_encoding.csv"))


def test_an_explicit_encoding_reads_a_file_detection_refuses(base_con: db.Connection) -> None:
    # UTF-16 without a BOM is refused as binary (NUL bytes) unless the encoding is named.
    name = "orders_utf16_no_bom.csv"
    (report,) = load_one(base_con, name, encoding="utf-16-le").reports
    assert (report.encoding, report.rows_loaded) == ("utf-16-le", 1)
    # A named encoding that does not fit says so, with the row.
    with pytest.raises(ingest.IngestError) as exc:
        ingest.inspect(ingest.Source(BAD / "orders_gbk_undecodable_bytes.csv", encoding="utf-8"))
    assert "not UTF-8 (the encoding chosen)" in str(exc.value)
    assert_names_rows(str(exc.value), (1,))  # the GBK header: 订 = B6 A9
    assert "row 1: 'B6 A9 B5 A5'" in str(exc.value)


@pytest.mark.parametrize("size", [3000, 1 << 20])
def test_random_bytes_are_refused_as_not_text(
    base_con: db.Connection, tmp_path: Path, size: int
) -> None:
    src = tmp_path / f"random_{size}.csv"
    src.write_bytes(random.Random(14).randbytes(size))
    before = snapshot(base_con)
    for mode in REFUSE_MODES:
        with pytest.raises(ingest.IngestError) as exc:
            ingest.load(base_con, [ingest.Source(src)], mode)
        assert f"random_{size}.csv: " in str(exc.value)
        assert "not a CSV text export" in str(exc.value)
    assert snapshot(base_con) == before


def test_a_200_kb_field_in_the_first_rows_loads(base_con: db.Connection, tmp_path: Path) -> None:
    # Python's csv module stops at 128 KB per field by default; DuckDB's reader takes 8 MB rows.
    src = tmp_path / "orders_long_note.csv"
    note = "备注" * 102_400  # 204,800 characters
    src.write_text(H + f"L1,001,2024-05-01,10,{note}\nL2,002,2024-05-02,20,short\n", "utf-8")
    report = ingest.inspect(ingest.Source(src))
    assert report.preview is not None
    assert report.preview["product"].tolist() == [note[:500] + "…", "short"]
    load_one(base_con, src.name, path=src)
    assert orders_of(base_con, "order_id, length(product)") == [("L1", 204_800), ("L2", 5)]


BINARY = [
    "binary_junk.csv",
    "orders_xlsx_renamed_to_csv.csv",
    "orders_xls_renamed_to_csv.csv",
    "orders_png_renamed_to_csv.csv",
    "orders_gzipped.csv",
    "random_bytes_no_nul.csv",
]


@pytest.mark.parametrize("name", BINARY)
def test_cli_refuses_a_binary_file_with_exit_2(
    name: str, baseline_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "crm.duckdb"
    shutil.copy(baseline_file, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    out = subprocess.run(
        [sys.executable, "-m", "crm_core", "load", "--db", str(path), "--file", str(BAD / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert f"error: {name}: " in out.stderr
    assert "not a CSV text export" in out.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(
    ("name", "cols", "expected"),
    [
        (
            "orders_inch_mark_unquoted.csv",
            "order_id, product",
            [("I1", '27" monitor'), ("I2", "plain")],
        ),
        ("orders_cr_only_line_endings.csv", "order_id, amount", [("M1", 10), ("M2", 20)]),
        ("orders_double_bom.csv", "order_id, amount", [("B1", 10)]),
        ("orders_trailing_delimiter.csv", "order_id, amount", [("N1", 10), ("N2", 20)]),
        (
            "orders_blank_lines_between_rows.csv",
            "order_id, amount",
            [("N1", 10), ("N2", 20), ("N3", 30)],
        ),
    ],
)
def test_awkward_but_valid_layouts(
    base_con: db.Connection, name: str, cols: str, expected: list
) -> None:
    load_one(base_con, name)
    assert orders_of(base_con, cols) == expected
    assert {c for (c,) in orders_of(base_con, "customer_id")} <= {"001", "002", "003"}


def test_only_returns_replace_gives_zero_revenue(base_con: db.Connection) -> None:
    load_one(base_con, "orders_only_returns.csv")
    m = metrics(base_con)
    assert (m["revenue"], m["customers_with_orders"], m["first_order_date"]) == (0.0, 0, None)
    # A status word flags a positive line as a return; so does a negative or (bracketed) amount.
    assert orders_of(base_con, "order_id, amount, is_return") == [
        ("R1", Decimal("-10"), True),
        ("R2", Decimal("25"), True),
        ("R3", Decimal("-30"), True),
    ]


def test_nan_inf_amounts_can_be_skipped_as_counted_rejections(base_con: db.Connection) -> None:
    # As a whole the file is refused (see the corpus test); skipping bad rows loads the rest:
    # the negative amount is a return, NaN / inf / -Infinity are rejected with their raw text.
    result = load_one(base_con, "orders_negative_nan_inf_amounts.csv", skip_bad_rows=True)
    (report,) = result.reports
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 2, 3)
    assert orders_of(base_con, "order_id, amount, is_return") == [
        ("N1", Decimal("-10"), True),
        ("N5", Decimal("25.5"), False),
    ]
    assert base_con.execute(
        "SELECT row_number, column_name, value FROM load_rejects WHERE load_id = $id ORDER BY 1",
        {"id": result.load_id},
    ).fetchall() == [(3, "amount", "NaN"), (4, "amount", "inf"), (5, "amount", "-Infinity")]
    assert metrics(base_con)["revenue"] == 25.5


# --------------------------------------------------------------------------- generated huge files

H = "order_id,customer_id,order_date,amount,product\n"


def gen_huge_field(p: Path) -> None:
    with open(p, "w", encoding="utf-8") as f:
        f.write(H + "N1,001,2024-05-01,10,short\n")
        f.write('N2,002,2024-05-02,20,"' + "x" * (9 << 20) + '"\n')
        f.write("N3,003,2024-05-03,30,short\n")


def gen_wide(p: Path) -> None:
    with open(p, "w", encoding="utf-8") as f:
        f.write(",".join(f"col{i}" for i in range(10_000)) + "\n")
        f.write(",".join(str(i) for i in range(10_000)) + "\n")


def gen_single_line(p: Path) -> None:
    chunk = b"abc,def,ghi," * (1 << 16)
    with open(p, "wb") as f:
        for _ in range((200 << 20) // len(chunk)):
            f.write(chunk)


def gen_late_nul(p: Path) -> None:
    # Past the 64 KB head that is sniffed first: the whole file must be checked.
    body = "".join(f"L{i},001,2024-05-01,10,p\n" for i in range(4000))
    p.write_bytes((H + body).encode() + b"LX,0\x0001,2024-05-01,10,p\n")


@dataclass(frozen=True)
class Huge:
    file: str
    make: Callable[[Path], None]
    error: tuple[str, ...]
    rows: tuple[int, ...] = ()
    max_growth_mb: int = 600


HUGE = [
    Huge("orders_huge_field.csv", gen_huge_field, ("longer than 8 MB",), rows=(3,)),
    Huge("wide_10000_columns.csv", gen_wide, ("the header has 10000 columns",), rows=(1,)),
    Huge(
        "single_line_200mb.csv",
        gen_single_line,
        ("the first line is longer than 1 MB",),
        max_growth_mb=100,
    ),
    Huge("orders_nul_after_64kb.csv", gen_late_nul, ("contains NUL bytes",), rows=(4002,)),
]

# Runs in its own process so that ru_maxrss measures this one load and nothing else.
LOAD_AND_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from crm_core.engine import db
    from crm_core import ingest

    con = db.connect(sys.argv[1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        ingest.load(con, [ingest.Source(Path(sys.argv[2]), sys.argv[3] or None)], sys.argv[4])
        error = None
    except ingest.IngestError as e:
        error = str(e)
    growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    con.close()
    print(json.dumps({"error": error, "growth_mb": growth_kb / 1024}))
    """
)


@pytest.mark.parametrize("huge", HUGE, ids=lambda h: h.file)
def test_generated_huge_file_is_refused_in_bounded_memory(
    huge: Huge, baseline_file: Path, tmp_path: Path
) -> None:
    src = tmp_path / huge.file
    huge.make(src)
    table = "orders" if huge.file.startswith("orders_") else ""
    script = tmp_path / "measure.py"
    script.write_text(LOAD_AND_MEASURE)
    try:
        for mode in MODES:
            path = tmp_path / f"{mode}.duckdb"
            shutil.copy(baseline_file, path)
            con = db.connect(path)
            before = snapshot(con)
            con.close()
            proc = subprocess.run(
                [sys.executable, str(script), str(path), str(src), table, mode],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            msg = out["error"]
            assert msg is not None, f"{huge.file} loaded"
            assert huge.file in msg
            for fragment in huge.error:
                assert fragment in msg, msg[:2000]
            assert_names_rows(msg, huge.rows)
            assert len(msg) < 3000
            assert out["growth_mb"] < huge.max_growth_mb, out
            con = db.connect(path)
            assert snapshot(con) == before
            con.close()
    finally:
        src.unlink(missing_ok=True)


# Latin words a Chinese message may hold: file formats, encodings and the office programs a
# manager saves CSV files with (tests/e2e/test_zh_screens.py ALLOWED, plus the file kinds a
# refused upload is named as).
ZH_ALLOWED = {
    "csv", "tsv", "txt", "excel", "xlsx", "xls", "pdf", "utf", "gbk", "gb", "bom", "kb", "mb",
    "id", "wps", "office", "zip", "png", "jpeg", "gif", "gzip", "rar",
}  # fmt: skip


def chinese_page_text(report: ingest.FileReport) -> str:
    """What the Data page says of a refused file in Chinese, without the user's own text (the
    file name, its headers, and the values it quotes “…”)."""
    from crm_core.present import i18n

    text = "\n".join(i18n.problem_text(p, report.file_name, "zh") for p in report.errors)
    text += "\n".join(i18n.note_text(w, "zh") for w in report.warnings)
    text = re.sub(r"“[^”]*”", "", text.replace(report.file_name, ""))
    for h in sorted(report.headers, key=len, reverse=True):
        text = text.replace(h, "")
    return text


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.file)
def test_refusal_reads_in_chinese(case: Case) -> None:
    from crm_core.present import i18n

    reports = ingest.validate([ingest.Source(BAD / case.file, case.table)])
    for r in reports:
        for p in r.errors:  # every problem has its message in the catalogue
            assert i18n.has(f"ingest.problem.{p.key}"), (case.file, p.reason)
        text = chinese_page_text(r)
        latin = {w for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in ZH_ALLOWED}
        assert not latin, f"{case.file}: {latin} in\n{text}"
        full = "\n".join(i18n.problem_text(p, r.file_name, "zh") for p in r.errors)
        for row in case.rows:  # "第 3 行", "第 2、4 行", "第 2, 3, 4 行"
            assert re.search(rf"第 [\d,、 ]*\b{row}\b[\d,、 ]* 行", full), (row, full)


def test_chinese_refusals_name_the_row_and_value() -> None:
    from crm_core.present import i18n

    def zh(name: str, table: str | None = None) -> str:
        reports = ingest.validate([ingest.Source(BAD / name, table)])
        return i18n.problem_text(reports[0].errors[0], name, "zh")

    assert zh("empty.csv") == "empty.csv：文件是空的"
    assert zh("orders_png_renamed_to_csv.csv", "orders") == (
        "orders_png_renamed_to_csv.csv：这不是 CSV 文本文件：看起来是一张 PNG 图片。"
        "请上传 CSV 导出文件本身。"
    )
    # Bytes FF FE 80 BD on line 4 are neither UTF-8 nor GB18030.
    assert zh("orders_gbk_undecodable_bytes.csv", "orders").endswith(
        "文件既不是 UTF-8，也不是 GB18030（简体中文）：有无法解码的字节。请在“文件编码”中选择文件的"
        "实际编码，位置：第 4 行 “FF FE 80 BD”"
    )
    # Order N1 is on rows 2 and 4: one duplicated value, with the rows it is on.
    assert zh("orders_duplicate_keys.csv", "orders").endswith(
        "订单编号重复（订单明细导出需要数量和单价列，才能区分同一订单的各行），共 1 个重复值，"
        "例如 “N1”（第 2、4 行）"
    )
    # DuckDB's "Expected Number of Columns: 4 Found: 5" on line 3, with the line's text.
    assert zh("orders_ragged_rows.csv", "orders").endswith(
        "第 3 行与表头不符（列数不对或引号不成对）：“N2,002,2024-05-02,20,extra,cells”"
    )


def test_a_product_too_large_for_an_amount_names_its_row(tmp_path: Path) -> None:
    from crm_core.present import i18n

    # 10^20 × 99,999,999,999 ≈ 10^31: past DECIMAL(18,4)'s 14 digits before the point. DuckDB
    # raised a conversion error for the whole file; it is now a bad value of row 2.
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,customer_id,order_date,quantity,unit_price\n"
        "A1,C1,2024-01-02,100000000000000000000,99999999999\n"
        "A2,C1,2024-01-02,1,2\n"
    )
    (report,) = ingest.validate([ingest.Source(path, "orders")])
    p = report.errors[0]
    assert (p.key, p.column, p.count) == ("amount_too_large", "amount", 1)
    assert p.examples == [(2, "100000000000000000000 × 99999999999")]
    assert i18n.problem_text(p, "lines.csv", "zh") == (
        "lines.csv：字段“金额”：数量 × 单价超出金额的上限（最多 14 位整数），"
        "位置：第 2 行 “100000000000000000000 × 99999999999”"
    )
    # With "skip bad rows" the row is rejected and the other line loads: 1 × 2 = 2.00.
    skip = ingest.Source(path, "orders", skip_bad_rows=True)
    (report,) = ingest.validate([skip])
    assert report.ok and (report.rows_loaded, report.rows_rejected) == (1, 1)
