"""Page smoke tests: every page renders through app.py on demo data, in both languages."""

from __future__ import annotations

import ast
import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, make_app_test

from crm_core.present import i18n
from crm_core.present.text import md_escape

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page: str, lang: str, demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, page, {"lang": lang}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "a page starts with a title"


def test_every_page_starts_with_the_guard() -> None:
    # The deep-link guard must run before the page draws anything (docs/architecture.md).
    for page in PAGES:
        tree = ast.parse((ROOT / page).read_text(encoding="utf-8"))
        body = [
            n
            for n in tree.body
            if not isinstance(n, ast.Import | ast.ImportFrom)
            and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
        ]
        first = body[0]
        assert isinstance(first, ast.Expr) and ast.unparse(first) == "ui.page_guard()", page


def test_the_guard_finds_the_legacy_runner_on_the_call_stack() -> None:
    # A page the legacy runner started has Streamlit's _mpa_v1 below it on the stack.
    from crm_core.app.ui.session import _called_from

    def _mpa_v1() -> bool:
        return page()

    def page() -> bool:
        return _called_from("_mpa_v1")

    assert _mpa_v1() is True
    assert page() is False


def test_deep_link_runs_app_py(demo_copy: Path, app_env: None) -> None:
    # The first deep link after a server start runs pages/data.py through Streamlit's legacy
    # runner; the guard must bring app.py's sidebar (language switch, database caption) back.
    at = make_app_test(demo_copy, "pages/data.py", legacy=True).run()
    assert not at.exception
    assert any(".duckdb" in c.value for c in at.sidebar.caption)
    assert at.sidebar.selectbox(key="_crm_lang") is not None


def test_overview_numbers_match_core(demo_copy: Path, app_env: None) -> None:
    from crm_core.engine import db
    from crm_core.metrics import overview

    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    assert not at.exception
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    kpis = overview.headline_kpis(con, period)
    con.close()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Revenue"] == i18n.fmt_compact(kpis["revenue"], "en")
    assert shown["Orders"] == i18n.fmt_compact(kpis["orders"], "en")
    assert shown["Customers"] == f"{kpis['customers']:,.0f}"  # below 10,000: every digit
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # two monthly bars, the explanation's two waterfalls, the forecast
    spec = json.loads(charts[0].proto.spec)
    assert spec["data"][0]["type"] == "bar"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_money_tiles_fit_and_keep_the_exact_value(
    lang: str, demo_copy: Path, app_env: None
) -> None:
    # "480,706,782" ended in "…" in a fifth of a 1280 px screen: tiles show ~3 significant
    # digits (481M, 4.81亿) and the tooltip gives every digit, as does the change.
    from crm_core.engine import config, db
    from crm_core.metrics import overview

    at = make_app_test(demo_copy, params={"lang": lang}).run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    row = overview.kpi_deltas(con, period).set_index("kpi").loc["revenue"]
    con.close()
    tile = next(m for m in at.metric if m.label == i18n.t("overview.revenue", lang))
    # Money after the currency symbol: ¥4.81亿 in Chinese, 481M in English (config.currency).
    assert tile.value == config.currency(lang) + i18n.fmt_compact(row["value"], lang)
    assert len(tile.value) <= 6, tile.value
    assert tile.proto.delta == i18n.fmt_compact(row["change"], lang)
    assert i18n.fmt_exact(row["value"]) in tile.help
    assert i18n.fmt_exact(row["change"]) in tile.help
    # Small numbers are shown whole and need no tooltip.
    small = next(m for m in at.metric if m.label == i18n.t("overview.complaints", lang))
    assert "…" not in small.value and not small.help
    for page in ("pages/weekly.py", "pages/churn_clv.py", "pages/pyramid.py"):
        at = make_app_test(demo_copy, page, {"lang": lang}).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        long = [m.value for m in at.metric if len(m.value) > 7]
        assert not long, (page, long)


def test_overview_filter_from_url(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, params={"lang": "en", "region": "华东"}).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="region").value == "华东"


def test_load_progress_is_in_chinese_and_its_file_name_is_plain_text() -> None:
    from crm_core.app.ui import upload

    # ingest says its steps in English (the CLI prints them); the progress bar's label renders
    # Markdown, so a file name such as *a*_[x](y).csv must come out literally.
    assert upload.step_text("reading *a*_[x](y).csv") == r"正在读取 \*a\*\_\[x\]\(y\).csv"
    assert upload.step_text("updating the customer facts") == "正在更新客户汇总"
    assert [upload.step_text(m) for m in upload.STEPS] == [
        "正在校验",
        "正在写入数据库",
        "正在更新客户汇总",
        "正在建立按日汇总",
        "完成",
    ]
    assert upload.step_text("a **new** step") == r"a \*\*new\*\* step"


def test_data_page_upload_and_load(demo_copy: Path, app_env: None, fixtures: Path) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    load = next(b for b in at.button if b.label == "Load")
    load.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("committed" in s.value for s in at.success), [s.value for s in at.success]


def test_data_page_marks_a_guessed_column_and_lists_a_tie(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "zh"}).run()
    one = "订单号,客户编号,日期X,金额\nA1,C1,2024/1/31,10\nA2,C2,2024/2/1,20\n"
    at.get("file_uploader")[0].set_value(("one.csv", one.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    editor = at.dataframe[0].value.set_index("文件列")
    # Pre-selected and marked as a guess, for the user to confirm.
    assert editor.loc["日期X", "对应字段"] == "下单日期"  # order_date, in words
    assert editor.loc["日期X", "说明"] == "推测，请确认"
    assert editor.loc["订单号", "说明"] == ""  # matched by its header: no note
    # 2 of 2 values are dates: 100 %; the header is escaped for Markdown (日期X has nothing to
    # escape).
    # The field by its Chinese label (order_date is 下单日期).
    assert any("下单日期 ← 日期X（抽样 2 行中 100% 为日期）" in i.value for i in at.info)
    two = "订单号,客户编号,开票X,付款X,金额\nA1,C1,2024/1/31,2024/2/3,10\nA2,C2,2024/2/1,2024/2/4,20\n"
    at.get("file_uploader")[0].set_value(("two.csv", two.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    editor = at.dataframe[0].value.set_index("文件列")
    # A tie: nothing pre-selected, both candidates named.
    assert list(editor.loc[["开票X", "付款X"], "对应字段"]) == ["（不导入）", "（不导入）"]
    assert list(editor.loc[["开票X", "付款X"], "说明"]) == ["候选：下单日期"] * 2
    assert any("开票X、付款X" in w.value for w in at.warning), [w.value for w in at.warning]


def test_headers_are_escaped_for_markdown() -> None:
    from crm_core.app import ui

    # One escaping helper for every page (crm_core/text.py): no image or link survives.
    out = ui.md("![x](http://e/a.png)")
    assert out.startswith(r"\!\[x\]\(") and "](" not in out


def _file_panels(at) -> list:
    """The Data page's expanders of uploaded files (not the account management's)."""
    return [e for e in at.expander if ".csv" in e.label]


def test_a_load_empties_the_uploader_and_updates_the_sidebar(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    # The sidebar is drawn before the page: without a rerun its "last load" caption named the
    # previous load, and the loaded file stayed in the uploader, ready to be loaded twice.
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    assert any("last load: #1 " in c.value for c in at.sidebar.caption)
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    assert len(_file_panels(at)) == 1  # the file's panel
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert "last load: #2 orders_gbk.csv" in caption, caption
    # The messages of the load survive the rerun: the file's report, then the commit.
    success = [s.value for s in at.success]
    assert any("orders_gbk.csv: orders" in x for x in success), success
    assert success[-1] == "Load 2 committed.", success
    # An empty uploader (a new widget), no file panel, no load button.
    uploader = at.get("file_uploader")[0]
    assert "uploads_1" in uploader.proto.id, uploader.proto.id
    assert not at.session_state["uploads_1"]
    assert len(_file_panels(at)) == 0
    assert not [b for b in at.button if b.label == "Load"]
    history = at.dataframe[0].value
    assert 2 in set(history["Load"]), history  # headers in the session's language
    # The next run (any widget) shows the page without the old messages.
    at.run()
    assert not at.success
    # Rolling the load back reruns the same way.
    at.selectbox(key="rollback").set_value(2).run()
    next(b for b in at.button if b.label.startswith("Roll back load 2")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["Rolled back load(s) #2."]
    assert any("last load: #1 " in c.value for c in at.sidebar.caption)


def test_load_mode_defaults_to_append_and_states_what_replace_deletes(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    from crm_core.engine import db

    con = db.connect(demo_copy)
    orders = db.table_counts(con)["orders"]
    con.close()
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    mode = at.radio(key="load_mode")
    assert mode.value == "append" and mode.options == ["Append", "Replace"]
    replace_caption = i18n.t("data.mode_replace_help", "en")
    assert list(mode.proto.captions)[1] == replace_caption  # its consequence, next to it
    assert "Deletes every current row" in replace_caption
    assert not at.warning, [w.value for w in at.warning]
    # Replace is one click away; once chosen, the page says which rows it deletes.
    mode.set_value("replace").run()
    warning = " ".join(w.value for w in at.warning)
    assert f"orders ({orders:,} rows)" in warning, warning
    mode = at.radio(key="load_mode").set_value("append").run()
    assert not at.warning
    # The default load keeps the demo orders and adds the file's.
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    after = db.table_counts(con)["orders"]
    mode_logged = con.execute("SELECT DISTINCT mode FROM load_history WHERE load_id = 2").fetchall()
    con.close()
    assert after > orders and mode_logged == [("append",)]


def test_first_start_builds_the_demo_database(tmp_path: Path, app_env: None) -> None:
    # Managers must see real numbers at once: no database file yet -> built from data/demo.
    db = tmp_path / "fresh" / "crm.duckdb"
    at = make_app_test(db, params={"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert db.exists()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Revenue"] not in ("0", "–")


# Columns holding fractions meant as percentages, by their English header, on each page.
SHARE_HEADERS = {
    "pages/weekly.py": {"Change %"},
    "pages/churn_clv.py": {"P(alive)", "Share of CLV", "P(purchase in 90 days)"},
    "pages/pipeline.py": {
        "Conversion from previous", "Share of entry", "Close rate", "Lead to win",
        "Share in time", "Share on cadence", "Share overdue",
    },
    "pages/complaints.py": {"Accept breach rate", "Share satisfied (4–5)", "Share of all paid"},
    "pages/pyramid.py": {"Revenue share"},
    "pages/affinity.py": {"Support", "Confidence"},
}  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_tables_show_missing_as_a_dash_and_shares_as_percentages(
    page: str, demo_copy: Path, app_env: None
) -> None:
    # Missing values were shown as the text "None", shares as raw fractions (0.2345).
    at = make_app_test(demo_copy, page, {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    formats: dict[str, str | None] = {}
    for table in at.dataframe:
        assert table.proto.placeholder == i18n.MISSING, (page, list(table.value.columns))
        config = json.loads(table.proto.columns or "{}")
        for header in table.value.columns:
            fmt = config.get(str(header), {}).get("type_config", {}).get("format")
            formats[str(header)] = formats.get(str(header)) or fmt
            if header in SHARE_HEADERS.get(page, ()):
                # Still the fraction in the data (and so in every download): only the display
                # is a percentage.
                assert table.value[header].dropna().between(-1, 1).all(), (page, header)
    for header in SHARE_HEADERS.get(page, ()):
        assert formats.get(header) == "percent", (page, header, formats.get(header))


def test_share_columns_by_name() -> None:
    from crm_core.app import ui

    shares = ["close_rate", "share_of_entry", "clv_share", "p_alive", "lead_to_win", "change_pct"]
    assert all(ui.is_share(c) for c in [*shares, "retention", "conversion", "share"])
    others = ["customers", "median_hours", "revenue", "change", "rated", "shared_at", "rates_note"]
    assert not any(ui.is_share(c) for c in others)


def _table_script() -> None:
    import pandas as pd
    import streamlit as st

    from crm_core.app import ui

    df = pd.DataFrame({"owner": ["a", None], "close_rate": [0.00898, None], "leads": [3, None]})
    st.session_state["returned"] = ui.table(df, lambda d: d.rename(columns=str.upper))


def test_table_rounds_only_what_it_shows() -> None:
    # Streamlit truncates a percent column to its step (0.00898 showed as 0.8 %): the table
    # shows the fraction rounded to 3 places (0.9 %) and returns the exact one for downloads.
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_table_script).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0]
    assert shown.proto.placeholder == i18n.MISSING
    assert shown.value["CLOSE_RATE"].iloc[0] == 0.009
    config = json.loads(shown.proto.columns)["CLOSE_RATE"]
    assert config["type_config"]["format"] == "percent"
    returned = at.session_state["returned"]
    assert returned["CLOSE_RATE"].iloc[0] == 0.00898
    assert returned["LEADS"].dtype.kind == "f" and returned["OWNER"].isna().iloc[1]


def test_rounded_is_dataframe_round_without_the_rebuild() -> None:
    # What a table shows of its share columns: exactly DataFrame.round(dict) (numbers rounded,
    # text, flags and dates kept, duplicate headers each rounded), the input left as it was.
    import pandas as pd

    from crm_core.app.ui.tables import rounded

    df = pd.DataFrame(
        {
            "rate": [0.12345, None, 2.0],  # 0.12345 -> 0.123
            "n": [1, 2, 3],
            "who": ["x", None, "z"],
            "share": pd.array([0.55555, None, 1], dtype="Float64"),  # 0.55555 -> 0.556
            "flag": [True, False, True],
        },
        index=[5, 6, 7],
    )
    for frame, cols in (
        (df, ["rate", "n", "share", "flag", "who"]),
        (df.set_axis(["a"] * 5, axis=1), ["a"]),
    ):
        before = frame.copy()
        got = rounded(frame, cols, 3)
        pd.testing.assert_frame_equal(got, frame.round(dict.fromkeys(cols, 3)), check_exact=True)
        pd.testing.assert_frame_equal(frame, before, check_exact=True)
    assert rounded(df, ["rate"], 3)["rate"].iloc[0] == 0.123


def test_pipeline_lists_the_longest_overdue_and_says_how_many(
    demo_copy: Path, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 10 M orders 245 k leads were overdue and all went to the browser; the page now lists
    # the longest overdue and says how many there are (the downloads hold all).
    from crm_core.engine import db
    from crm_core.metrics import pipeline

    monkeypatch.setattr(pipeline, "OVERDUE_SHOWN", 5)
    con = db.connect(demo_copy)
    order = pipeline.stage_order(pipeline.stage_stats(con))
    n = len(pipeline.overdue_list(con, pipeline.data_end(con), order))
    con.close()
    at = make_app_test(demo_copy, "pages/pipeline.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    listed = at.dataframe[-1].value
    assert len(listed) == 5 and listed["Days overdue"].is_monotonic_decreasing
    assert f"Showing the 5 longest overdue of {n:,}" in " ".join(c.value for c in at.caption)


def test_large_quantities_get_thousands_separators() -> None:
    # Money in the CLV, Weekly and Pipeline tables showed as 1234567.5 on a projector.
    import pandas as pd

    from crm_core.app import ui

    assert ui.needs_separators("revenue", pd.Series([1234567.5, None]))
    assert ui.needs_separators("leads", pd.Series([8000, 12]))
    assert not ui.needs_separators("days_overdue", pd.Series([12.5, 999.9]))  # all below 1,000
    assert not ui.needs_separators("year", pd.Series([2024, 2025]))
    assert not ui.needs_separators("order_id", pd.Series([100234]))
    assert not ui.needs_separators("close_rate", pd.Series([0.5]))
    assert not ui.needs_separators("owner", pd.Series(["a"]))
    # Negative, nullable and missing values: |-1500| >= 1,000; <NA> and NaN are never large.
    assert ui.needs_separators("change", pd.Series([3, -1500]))
    assert ui.needs_separators("customers", pd.Series(pd.array([None, 2000], dtype="Int64")))
    assert not ui.needs_separators("customers", pd.Series(pd.array([None, None], dtype="Int64")))
    assert not ui.needs_separators("revenue", pd.Series([float("nan"), 999.0]))
    assert not ui.needs_separators("won", pd.Series([True, False]))


def _money_script() -> None:
    import pandas as pd

    from crm_core.app import ui

    frame = {"owner": ["a"], "revenue": [1234567.5], "year": [2024], "orders": [12345]}
    ui.table(pd.DataFrame(frame | {"median_h": [3.25], "recency_days": [12.4]}))


def test_tables_format_money_hours_days_and_counts() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_money_script).run()
    assert not at.exception, [e.value for e in at.exception]
    config = json.loads(at.dataframe[0].proto.columns)
    fmt = {c: v["type_config"]["format"] for c, v in config.items() if "type_config" in v}
    # Money ¥1,234,567.50, hours 3.2 (one decimal), days 12 (whole), a count 12,345; a year as is.
    assert fmt == {
        "revenue": "¥%,.2f",
        "orders": "localized",
        "median_h": "%,.1f",
        "recency_days": "%,.0f",
    }


def _tables_before_and_now() -> None:
    # Each frame drawn by the table code as it was (config and rounding on every run, the pandas
    # frame handed to st.dataframe), then by ui.table twice (the second from prepared tables).
    import datetime as dt

    import pandas as pd
    import streamlit as st

    from crm_core.app import ui
    from crm_core.app.ui import tables
    from crm_core.engine.config import currency as currency_symbol
    from crm_core.present import i18n

    def before(df, label=None, **kwargs):
        shown = label(df) if label else df
        names = dict(zip(df.columns, shown.columns, strict=True))
        shares = [
            names[c] for c in df.columns if ui.is_share(c) and pd.api.types.is_numeric_dtype(df[c])
        ]
        config = {c: ui.percent_column() for c in shares}
        config |= {
            names[c]: st.column_config.NumberColumn(format="localized")
            for c in df.columns
            if ui.needs_separators(c, df[c])
        }
        currency = currency_symbol(ui.lang())
        config |= {
            names[c]: st.column_config.NumberColumn(format=fmt)
            for c in df.columns
            if not ui.is_share(c)
            and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])
            and (fmt := i18n.number_format(c, currency))
        }
        config.update(kwargs.pop("column_config", None) or {})
        kwargs.setdefault("hide_index", True)
        display = tables.rounded(shown, shares)
        st.dataframe(display, placeholder=i18n.MISSING, column_config=config, **kwargs)
        return shown

    upper = lambda d: d.rename(columns=str.upper)  # noqa: E731
    named = lambda d: d.assign(owner=d["owner"].map({"a": "甲", "b": "*b*"}))  # noqa: E731
    cases = [
        (pd.DataFrame({"owner": ["a", None], "close_rate": [0.00898, None], "leads": [3, None]}),
         upper, {}),
        (pd.DataFrame({"owner": ["a", "b"], "revenue": [1234567.5, -3.0], "year": [2024, 2025],
                       "orders": [12345, 7], "median_h": [3.25, None], "recency_days": [12.4, 1.0],
                       "won": [True, False], "day": [dt.date(2024, 1, 2), None]}), named, {}),
        (pd.DataFrame({"owner": ["a"], "share": [1], "p_alive": [0.12345]}), None,
         {"column_config": {"owner": st.column_config.TextColumn("who")}}),
        (pd.DataFrame({"customer_id": ["001", "002"], "amount": [999.5, 1000.0]}), upper,
         {"on_select": "rerun", "selection_mode": "single-row", "width": "stretch"}),
        (pd.DataFrame({"owner": pd.Series([], dtype="str"), "rate": pd.Series([], dtype="float64")}),
         None, {"hide_index": False}),
    ]  # fmt: skip
    returned = []
    for n, (df, label, kwargs) in enumerate(cases):
        for way, draw in (("before", before), ("now", ui.table), ("again", ui.table)):
            extra = {**kwargs, "key": f"t{n}_{way}"} if "on_select" in kwargs else dict(kwargs)
            returned.append(draw(df.copy(), label, **extra))
    st.session_state["returned"] = returned


def test_prepared_tables_draw_what_the_table_code_drew() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_tables_before_and_now).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    drawn = list(at.dataframe)
    assert len(drawn) == 15
    for n in range(0, 15, 3):
        protos = []
        for el in drawn[n : n + 3]:
            proto = type(el.proto)()
            proto.CopyFrom(el.proto)
            proto.ClearField("id")  # the widget id follows the key
            protos.append(proto.SerializeToString())
        assert protos[0] == protos[1] == protos[2], n // 3
    back = at.session_state["returned"]
    for n in range(0, 15, 3):
        pd_testing = __import__("pandas").testing
        pd_testing.assert_frame_equal(back[n + 1], back[n])
        pd_testing.assert_frame_equal(back[n + 2], back[n])


def unescaped(markdown: str) -> str:
    """An error box's text as the user reads it (file names and values are Markdown-escaped)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_data_page_encoding_choice(demo_copy: Path, app_env: None, tmp_path: Path) -> None:
    # A complaints export in GB18030 whose first header bytes (投 = CD B6) are valid UTF-8.
    text = (
        "投诉编号,客户编号,投诉日期,投诉类别\nT1,001,2024/1/31,物流延误\nT2,002,2024/2/1,产品质量\n"
    )
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    at.get("file_uploader")[0].set_value(("complaints.csv", text.encode("gb18030"), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    choice = at.selectbox(key="file0_encoding")
    assert choice.label == "File encoding" and choice.value == ""  # detect automatically
    assert choice.options[:3] == [
        "Detect automatically",
        "UTF-8",
        "GB18030 / GBK (Simplified Chinese)",
    ]
    facts = " ".join(c.value for c in at.main.caption)
    # The detected encoding in words (i18n.encoding_label), then "(detected)".
    assert "Encoding GB18030" in facts and "Simplified Chinese" in facts, facts
    assert facts.index("Simplified Chinese") < facts.index("(detected)"), facts
    assert at.selectbox(key="file0_table").value == "complaints"
    # A chosen encoding is used as it is, and a wrong one says so instead of guessing.
    choice.set_value("utf-8").run()
    assert not at.exception
    assert any("not UTF-8 (the encoding chosen)" in unescaped(e.value) for e in at.error)
    at.selectbox(key="file0_encoding").set_value("gb18030").run()
    facts = " ".join(c.value for c in at.main.caption)
    assert "Encoding GB18030" in facts and "(detected)" not in facts, facts


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "photo.csv",
            (ROOT / "tests/fixtures/bad/orders_png_renamed_to_csv.csv").read_bytes(),
            "it looks like a PNG image",
        ),
        (
            "book.csv",
            (ROOT / "tests/fixtures/bad/orders_xlsx_renamed_to_csv.csv").read_bytes(),
            "it looks like an Excel workbook",
        ),
        ("noise.csv", random.Random(14).randbytes(5000), "not a CSV text export"),
    ],
    ids=["png", "xlsx", "random"],
)
def test_data_page_refuses_a_binary_upload_in_an_error_box(
    name: str, data: bytes, message: str, demo_copy: Path, app_env: None
) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    at.get("file_uploader")[0].set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(unescaped(e.value) for e in at.error)
    assert f"{name}: this is not a CSV text export" in errors, errors
    assert message in errors, errors
    assert not [b for b in at.button if b.label == "Load"]


def test_data_page_previews_a_200_kb_field(demo_copy: Path, app_env: None) -> None:
    note = "x" * 204_800
    text = f"order_id,customer_id,order_date,amount,product\nL1,001,2024-05-01,10,{note}\n"
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    at.get("file_uploader")[0].set_value(("orders.csv", text.encode(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="file0_table").value == "orders"


def test_start_with_my_own_data_removes_the_demo(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    from crm_core.engine import db

    con = db.connect(demo_copy)
    counts = db.table_counts(con)
    con.close()
    demo_note = i18n.t("sidebar.demo_all", "en")
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    assert [i.value for i in at.sidebar.info] == [demo_note]
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    own = at.button(key="own")
    assert own.label == "Start with my own data (remove the demo data)"
    # A confirmation first, naming what is replaced and what is emptied; cancel leaves it.
    own.click().run()
    warning = " ".join(w.value for w in at.warning)
    assert f"replace orders ({counts['orders']:,} rows) whole" in warning, warning
    assert f"customers ({counts['customers']:,} rows)" in warning, warning
    at.button(key="own_cancel").click().run()
    assert not at.warning and not [b for b in at.button if b.key == "own_go"]
    at.button(key="own").click().run()
    at.button(key="own_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    success = [s.value for s in at.success]
    assert "Emptied: customers, complaints, leads, interactions, marketing_spend." in success, (
        success
    )
    assert success[-1] == "Load 2 committed.", success
    assert not at.sidebar.info  # no demo data left
    con = db.connect(demo_copy)
    after = db.table_counts(con)
    con.close()
    assert after == {
        "customers": 0, "orders": 5, "complaints": 0, "leads": 0, "interactions": 0,
        "marketing_spend": 0,
    }  # fmt: skip
    # Rolling it back brings the demo and its note back.
    at.selectbox(key="rollback").set_value(2).run()
    next(b for b in at.button if b.label.startswith("Roll back load 2")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [i.value for i in at.sidebar.info] == [demo_note]


def _last_load_before(hist: Any) -> str:
    # The sidebar's text as it was computed on every run from the load history frame: the
    # reference that context.last_load + sidebar.last_load_text must give back.
    import pandas as pd

    from crm_core.app.ui.language import md, t

    live = hist[hist["status"] == "loaded"]
    if live.empty:
        return t("sidebar.no_load")
    batch = live[live["load_id"] == live["load_id"].iloc[0]]
    names = batch["file_name"].dropna()
    files = md(names.iloc[0]) if len(names) == 1 else t("sidebar.files", n=len(names))
    when = pd.Timestamp(batch["finished_at"].iloc[0])
    return f"#{batch['load_id'].iloc[0]} {files} · {when:%Y-%m-%d %H:%M}"


def test_last_load_text_is_what_the_history_frame_gave() -> None:
    import pandas as pd

    from crm_core.app.ui.context import LastLoad, last_load
    from crm_core.app.ui.sidebar import last_load_text

    at = dt.datetime(2026, 3, 4, 5, 6, 59)

    def hist(*rows: tuple) -> pd.DataFrame:  # newest first, as ingest.load_history
        cols = ["load_id", "table_name", "file_name", "status", "finished_at"]
        return pd.DataFrame(list(rows), columns=cols).astype({"load_id": "int64"})

    cases = {
        "none": hist(),
        "rolled back": hist((3, "orders", "o.csv", "rolled_back", at)),
        "one file": hist(
            (3, "orders", "o.csv", "loaded", at), (2, "orders", "x.csv", "loaded", at)
        ),
        # a replace-all load: the file it read and the tables it emptied (no file)
        "replace-all": hist(
            (4, "orders", "*a*[b](c).csv", "loaded", at),
            (4, "leads", None, "loaded", at),
            (4, "complaints", None, "loaded", at),
        ),
        "two files": hist(
            (5, "orders", "o.csv", "loaded", at), (5, "leads", "l.csv", "loaded", at)
        ),
        "newest undone": hist(
            (6, "orders", "n.csv", "rolled_back", at), (5, "leads", "l.csv", "loaded", at)
        ),
        "emptied only": hist((7, "orders", None, "loaded", at)),
    }
    for name, frame in cases.items():
        assert last_load_text(last_load(frame)) == _last_load_before(frame), name
    # hand-written: load 4 read one file (escaped), finished 2026-03-04 05:06
    assert last_load(cases["replace-all"]) == LastLoad(4, ("*a*[b](c).csv",), "2026-03-04 05:06")
    assert last_load_text(last_load(cases["replace-all"])).startswith("#4 \\*a\\*")
    assert last_load(cases["rolled back"]) is None


def test_sidebar_names_the_tables_still_holding_demo_data(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    from crm_core import ingest
    from crm_core.engine import db

    con = db.connect(demo_copy)
    ingest.load(con, [ingest.Source(fixtures / "customers_bom.csv")], "replace")
    con.close()
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    tables = "orders, complaints, leads, interactions, marketing_spend"
    expected = i18n.t("sidebar.demo_some", "en", tables=tables)
    assert [i.value for i in at.sidebar.info] == [expected]


# Elements whose text Streamlit shows as plain text (cells, options): hostile values may appear.
PLAIN_TEXT_ELEMENTS = {"arrow_data_frame", "selectbox", "multiselect", "text", "code"}


UNSAFE_MARKDOWN = re.compile(r"https?\\?://evil|(?<!\\)\]\(|\w\\?@evil|www\\?\.evil")


def _strings(message) -> list[str]:
    from google.protobuf.json_format import MessageToDict

    out: list[str] = []

    def walk(x) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(MessageToDict(message))
    return out


def unsafe_texts(at) -> list[tuple[str, str]]:
    """(element type, text) of every rendered element that would show a hostile payload as a
    link, image or HTML: an unescaped evil.example URL in Markdown, a tag in a chart."""
    found = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if proto is None or kind in PLAIN_TEXT_ELEMENTS:
            continue
        if kind == "plotly_chart":
            spec = proto.spec
            found += [(kind, tag) for tag in ("<a href", "<img") if tag in spec]
            continue
        # A bare "https://" or "@" (GFM autolinks them even when backslash-escaped), or an
        # unescaped link / image.
        found += [(kind, s[:120]) for s in _strings(proto) if UNSAFE_MARKDOWN.search(s)]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_hostile_cells_and_file_names_render_as_text(
    page: str, hostile_copy: Path, app_env: None
) -> None:
    # Cells (region, source, owner, segment, category, stage, complaint category) and the last
    # load's file name hold Markdown links, images, <a href>, LaTeX and colour directives.
    from hostile import FILE_NAME

    at = make_app_test(hostile_copy, page, {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not unsafe_texts(at), unsafe_texts(at)
    if page == "pages/overview.py":
        caption = " ".join(c.value for c in at.sidebar.caption)
        assert "Session expired" in caption and FILE_NAME not in caption, caption


def test_hostile_filter_values_render_as_text(hostile_copy: Path, app_env: None) -> None:
    from hostile import IMAGE, LINK

    # A valid hostile region (the filter is applied: its empty-note names it) and a tampered one.
    for region in (LINK, "[Session expired](https://evil.example/x)", IMAGE + " <b>x</b>"):
        for page in ("pages/overview.py", "pages/complaints.py"):
            at = make_app_test(hostile_copy, page, {"lang": "en", "region": region}).run()
            assert not at.exception, [e.value for e in at.exception]
            assert not unsafe_texts(at), (region, unsafe_texts(at))


def test_data_page_refuses_uploads_over_the_session_bound(
    demo_copy: Path, app_env: None, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.engine import config

    monkeypatch.setattr(config, "MAX_SESSION_FILES", 1)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    data = (fixtures / "orders_gbk.csv").read_bytes()
    hostile = "[Session expired](https://evil.example/f).csv"
    at.get("file_uploader")[0].set_value(
        [("orders_gbk.csv", data, "text/csv"), (hostile, data, "text/csv")]
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("at most 1 files" in e and "\\[Session expired\\]" in e for e in errors), errors
    assert not unsafe_texts(at), unsafe_texts(at)
    staged = at.session_state["_crm_uploads"]
    assert len(list(staged.dir.iterdir())) == 1  # the first file, written once
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not staged.dir.exists()  # the load removed the staged copy


def test_a_second_simultaneous_load_is_told_to_wait(
    demo_copy: Path, app_env: None, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two loads at once failed with "TransactionException: Catalog write-write conflict".
    from crm_core.app.ui import upload
    from crm_core.engine import db

    monkeypatch.setattr(upload, "LOAD_WAIT_SECONDS", 0.1)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "zh"}).run()
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    assert upload._load_lock.acquire(timeout=1)  # another session's load is running
    try:
        next(b for b in at.button if b.label == "导入").click().run()
    finally:
        upload._load_lock.release()
    assert not at.exception, [e.value for e in at.exception]
    assert any("另一个导入正在进行" in w.value for w in at.warning), [w.value for w in at.warning]
    con = db.connect(demo_copy)
    assert con.execute("SELECT max(load_id) FROM load_history").fetchone()[0] == 1  # type: ignore[index]


def test_a_full_disk_during_a_load_is_a_clear_message(
    demo_copy: Path, app_env: None, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from crm_core.ingest import swap

    def disk_full(*args, **kwargs):
        raise duckdb.IOException('Could not write file "crm.duckdb.wal": No space left on device')

    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    monkeypatch.setattr(swap, "_swap", disk_full)
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("disk is full" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("page", ["pages/lifecycle.py", "pages/present.py", "pages/overview.py"])
def test_a_period_without_first_purchases_renders(
    page: str, demo_copy: Path, app_env: None
) -> None:
    # The demo data start in 2023-08: nobody's first purchase is in 2020 (Lifecycle and Present
    # crashed with "merge on object and datetime64 columns").
    params = {"lang": "en", "start": "2020-01-01", "end": "2020-03-31"}
    at = make_app_test(demo_copy, page, params).run()
    assert not at.exception, [e.value for e in at.exception]


def test_deployed_config_shows_visitors_no_tracebacks() -> None:
    # Streamlit's default ("full") sends every uncaught exception's traceback to the browser.
    import tomllib

    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        cfg = tomllib.load(f)
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["server"]["enableXsrfProtection"] is True


def test_served_app_runs_no_full_garbage_collection_after_each_render() -> None:
    # Streamlit's default gc.collect(2) after every run held the interpreter for most of the
    # process's time under 20 sessions (p95 of a page 3-10 s; bench.sessions, issue 16).
    import tomllib

    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        assert tomllib.load(f)["runner"]["postScriptGC"] is False


# --------------------------------------------------------------------------- sign-in and roles

ACCOUNTS = {  # name: (role, password, regions)
    "boss": ("admin", "boss-password", ()),
    "ana": ("analyst", "ana-password", ()),
    "east": ("viewer", "east-password", ("华东",)),
}


def _with_accounts(path: Path) -> None:
    from crm_core.app import auth
    from crm_core.engine import db

    con = db.connect(path)
    for name, (role, password, regions) in ACCOUNTS.items():
        auth.add_user(con, name, role, password, regions=regions)
    con.execute("DELETE FROM audit_log")
    con.close()


def _sign_in(at, name: str, password: str):
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def _shows_no_data(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Sign in to CRM Lens"]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.get("file_uploader") and not at.sidebar.caption
    assert not at.sidebar.date_input


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_sees_only_the_sign_in_form(
    page: str, demo_copy: Path, app_env: None
) -> None:
    _with_accounts(demo_copy)
    # legacy=True: the very first request of a served app, a deep link run without app.py.
    at = make_app_test(demo_copy, page, {"lang": "en"}, legacy=True).run()
    _shows_no_data(at)
    assert [x.label for x in at.text_input] == ["User name", "Password"]


def test_wrong_password_shows_nothing_and_is_audited(demo_copy: Path, app_env: None) -> None:
    from crm_core.app import auth
    from crm_core.engine import db

    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "en"}).run()
    _sign_in(at, "boss", "not-the-password")
    _shows_no_data(at)
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    _sign_in(at, "nobody", "boss-password")
    _shows_no_data(at)
    con = db.connect(demo_copy)
    log = auth.audit_log(con)
    con.close()
    assert log[["actor", "action", "detail"]].values.tolist() == [
        ["nobody", "sign_in_failed", "unknown user"],
        ["boss", "sign_in_failed", "wrong password (1 in a row)"],
    ]


def test_viewer_reads_but_cannot_load_roll_back_or_see_the_audit_log(
    demo_copy: Path, app_env: None
) -> None:
    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    _sign_in(at, "east", "east-password")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Data"
    assert not at.get("file_uploader")
    assert "Your role (viewer) can read and export" in at.info[0].value
    assert not [s for s in at.selectbox if s.key == "rollback"]
    assert "Audit log" not in [s.value for s in at.subheader]
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Signed in as `east` (viewer)" in captions and "You see: `华东`" in captions
    # The scope is the only region on offer, and a URL cannot widen it.
    assert at.sidebar.selectbox(key="region").options == ["华东"]


def test_analyst_appends_only(demo_copy: Path, app_env: None, fixtures: Path) -> None:
    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    _sign_in(at, "ana", "ana-password")
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [r for r in at.radio if r.key == "load_mode"]  # no replace to choose
    assert "Your role can append data" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "Load").click().run()
    assert any("committed" in s.value for s in at.success), [s.value for s in at.success]
    assert not [s for s in at.selectbox if s.key == "rollback"]


def test_admin_sees_the_audit_log_with_each_action(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    _sign_in(at, "boss", "boss-password")
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv"))
    at.run()
    at.radio(key="load_mode").set_value("replace").run()
    next(b for b in at.button if b.label == "Load").click().run()
    at.selectbox(key="rollback").set_value(2).run()
    next(b for b in at.button if b.label.startswith("Roll back load 2")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Audit log" in [s.value for s in at.subheader]
    log = at.dataframe[-1].value
    assert list(log.columns) == ["When", "Who", "Action", "Detail", "Rows"]
    # Newest first; orders_gbk.csv has 5 order lines (6 lines less the header).
    assert log[["Who", "Action", "Detail"]].values.tolist() == [
        ["boss", "rollback", "undid load(s) #2"],
        ["boss", "replace", "load #2: orders_gbk.csv → orders"],
        ["boss", "sign_in", "password"],
    ]
    assert log["Rows"].tolist()[1] == 5


def test_sign_out_returns_to_the_form(demo_copy: Path, app_env: None) -> None:
    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    _sign_in(at, "east", "east-password")
    assert at.metric
    at.sidebar.button(key="_crm_sign_out").click().run()
    _shows_no_data(at)


def test_region_scoped_viewer_sees_the_region_filters_figures(
    demo_copy: Path, app_env: None
) -> None:
    _with_accounts(demo_copy)
    filtered = make_app_test(demo_copy, params={"lang": "en", "region": "华东"}).run()
    _sign_in(filtered, "boss", "boss-password")  # unscoped, with the region filter
    assert not filtered.exception
    want = {m.label: (m.value, m.help) for m in filtered.metric}
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    _sign_in(at, "east", "east-password")
    assert not at.exception, [e.value for e in at.exception]
    got = {m.label: (m.value, m.help) for m in at.metric}
    assert got == want and len(got) >= 4
    # ?region= outside the scope is refused with a note; the scope still applies.
    at = make_app_test(demo_copy, params={"lang": "en", "region": "华北"}).run()
    _sign_in(at, "east", "east-password")
    assert {m.label: (m.value, m.help) for m in at.metric} == want
    assert any("region=华北" in w.value for w in at.sidebar.warning)


def test_sign_in_off_refuses_a_server_open_to_the_network(demo_copy: Path, app_env: None) -> None:
    from streamlit import config as st_config

    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    try:
        at = make_app_test(demo_copy, params={"lang": "en"}).run()
    finally:
        st_config.set_option("server.address", before)
    _shows_no_data(at)
    assert "Sign-in is off" in at.error[0].value
    # On this computer (the config's 127.0.0.1) the app opens, saying sign-in is off.
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    assert at.metric
    assert "Sign-in is off (this computer only)" in [c.value for c in at.sidebar.caption]


def _export_script() -> None:
    import streamlit as st

    from crm_core.app import auth, ui
    from crm_core.metrics.filters import Filters

    st.session_state["_crm_account"] = auth.Account("east", "viewer", ("华东",))
    st.session_state["_crm_filters"] = Filters(region="华东")
    make = ui.audited_export("table customers.csv", lambda: (b"id\n1\n2\n3\n", 3), counted=True)
    st.session_state["data"] = make()  # what Streamlit does when the button is clicked


def test_exports_and_meeting_snapshots_are_audited(demo_copy: Path, app_env: None) -> None:
    from streamlit.testing.v1 import AppTest

    from crm_core.app import auth
    from crm_core.engine import db

    make_app_test(demo_copy)  # points CRM_LENS_DB at the copy
    at = AppTest.from_function(_export_script).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["data"] == b"id\n1\n2\n3\n"  # the download itself is unchanged
    # Sign-in off (this computer): the local administrator freezes the view for a meeting.
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    at.sidebar.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    made = at.query_params["snapshot"]
    assert len(made) >= 16  # a random id, not a counter a visitor could guess
    con = db.connect(demo_copy)
    log = auth.audit_log(con)
    con.close()
    log["rows"] = log["rows"].astype(object).where(log["rows"].notna(), None)
    assert log[["actor", "action", "detail", "rows"]].values.tolist() == [
        ["local", "snapshot", f"froze the view as snapshot {made}", None],
        ["east", "export", "table customers.csv {'region': '华东'}", 3],
    ]


def test_admin_manages_accounts_on_the_data_page(demo_copy: Path, app_env: None) -> None:
    from crm_core.app import auth
    from crm_core.engine import db

    _with_accounts(demo_copy)
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    _sign_in(at, "boss", "boss-password")
    assert "Accounts" in [s.value for s in at.subheader]
    next(t for t in at.text_input if t.label == "User name").input("north")
    next(m for m in at.multiselect if m.label == "Sees only these regions").select("华北")
    next(t for t in at.text_input if t.label == "Password").input("north-password")
    next(b for b in at.button if b.label == "Add an account").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Account north added." in [s.value for s in at.success]
    next(t for t in at.text_input if t.label == "User name").input("south")
    next(t for t in at.text_input if t.label == "Password").input("short")
    next(b for b in at.button if b.label == "Add an account").click().run()
    assert [e.value for e in at.error] == ["A password has at least 8 characters."]
    # An admin cannot remove the account they are signed in with.
    at.selectbox(key="_crm_remove_user").set_value("boss")
    next(b for b in at.button if b.label == "Remove account").click().run()
    assert "You cannot remove the account you are signed in with." in [e.value for e in at.error]
    con = db.connect(demo_copy)
    assert auth.user_scope(con, "north") == (("华北",), ())
    assert auth.sign_in(con, "north", "north-password").account is not None
    log = auth.audit_log(con)
    con.close()
    assert ["boss", "user_add", "north role=viewer regions=['华北'] owners=[]"] in log[
        ["actor", "action", "detail"]
    ].values.tolist()


def test_the_first_account_made_on_this_computer_turns_sign_in_on(
    demo_copy: Path, app_env: None
) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    assert "Sign-in is off (this computer only)" in [c.value for c in at.sidebar.caption]
    next(t for t in at.text_input if t.label == "User name").input("boss")
    next(t for t in at.text_input if t.label == "Password").input("boss-password")
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "Role")).set_value("admin")
    next(b for b in at.button if b.label == "Add an account").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _shows_no_data(at)  # from now on everyone signs in, this computer too
    _sign_in(at, "boss", "boss-password")
    assert at.title[0].value == "Data" and "Accounts" in [s.value for s in at.subheader]


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/weekly.py"])
def test_page_explains_its_largest_change(page: str, demo_copy: Path, app_env: None) -> None:
    # The section explains the metric whose relative change is largest (explain.largest_change)
    # for the page's period: its takeaway as text, its factors and contributors as waterfalls.
    from crm_core.engine import db
    from crm_core.metrics import explain, overview, weekly
    from crm_core.present import explain_text

    at = make_app_test(demo_copy, page, {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    if page == "pages/weekly.py":
        end = weekly.report_week_end(con)
        assert end is not None
        period = overview.Period(end - dt.timedelta(days=6), end)
    else:
        found = overview.default_period(con)
        assert found is not None
        period = found
    moved = explain.largest_change(explain.explain_all(con, period))
    con.close()
    assert moved is not None
    title = i18n.t("explain.title", "en", metric=i18n.t(f"explain.metrics.{moved.metric}", "en"))
    assert title in [h.value for h in at.subheader]
    takeaway = explain_text.takeaway(moved, "en")
    assert any(md_escape(takeaway) in m.value for m in at.markdown)
    kinds = [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]
    assert kinds.count("waterfall") == (1 if moved.not_applicable else 2)


def test_overview_header_semantic_colours_and_no_change_against_an_empty_period(
    demo_copy: Path, app_env: None
) -> None:
    from streamlit.proto.Metric_pb2 import Metric

    from crm_core.engine import db
    from crm_core.metrics import filters, overview
    from crm_core.present import filter_text

    con = db.connect(demo_copy)
    rng = overview.data_range(con)
    period = overview.default_period(con)
    con.close()
    assert rng is not None and period is not None
    at = make_app_test(demo_copy, None, {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    # The active-filter line under the title (the default 12 months, no dimension set).
    line = filter_text.active_line(filters.Filters(), "zh", period.start, period.end)
    assert line.startswith("筛选：") and line in [c.value for c in at.caption]
    tiles = {m.label: m.proto for m in at.metric}
    assert tiles["客户数"].delta == ""  # all customers on file: no change to show
    complaints = tiles["投诉数"]
    # Complaints rose in the demo's last 12 months: a rise of bad news is red, not green.
    assert complaints.delta and not complaints.delta.startswith("-")
    assert complaints.color == Metric.MetricColor.RED
    assert tiles["订单数"].color == Metric.MetricColor.GREEN
    # A 30-day period starting 3 days after the data: 3 of the 30 days before hold data.
    start = rng[0] + dt.timedelta(days=3)
    end = start + dt.timedelta(days=29)
    params = {"lang": "zh", "start": start.isoformat(), "end": end.isoformat()}
    at = make_app_test(demo_copy, None, params).run()
    assert not at.exception, [e.value for e in at.exception]
    assert all(m.proto.delta == "" for m in at.metric[:5])
    assert i18n.t("charts.no_comparison", "zh") in [c.value for c in at.caption]


def test_data_page_in_chinese_names_tables_fields_and_history_values(
    demo_copy: Path, app_env: None, fixtures: Path
) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    # The demo load in words: replace -> 替换, loaded -> 已导入, utf-8-sig -> UTF-8（带 BOM）.
    hist = next(d.value for d in at.dataframe if "方式" in d.value.columns)
    assert set(hist["方式"]) == {"替换"} and set(hist["状态"]) == {"已导入"}
    assert set(hist["编码"]) == {"UTF-8（带 BOM）"}
    assert {"订单", "客户", "投诉"} <= set(hist["数据表"])
    # Streamlit's own "Upload" / "… per file" are replaced by the catalogue's words.
    css = " ".join(h.proto.body for h in at.get("html"))
    assert 'content:"选择文件"' in css and 'content:"每个文件不超过 1024 MB · CSV、TXT、TSV"' in css
    data = (fixtures / "orders_gbk.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("orders_gbk.csv", data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.selectbox(key="file0_table")
    assert (
        table.options == ["客户", "订单", "投诉", "线索", "跟进记录", "营销费用"]
        and table.value == "orders"
    )
    editor = next(d.value for d in at.dataframe if "对应字段" in d.value.columns)
    assert list(editor["对应字段"])[:2] == ["订单编号", "客户编号"]  # order_id, customer_id
    next(b for b in at.button if b.label == "校验").click().run()
    warnings = " ".join(w.value for w in at.warning)
    assert "1 行为退货或取消" in warnings and "return" not in warnings, warnings


def test_table_downloads_are_named_and_labelled_with_the_filters(
    tmp_path: Path, fixtures: Path, app_env: None, deferred_downloads: dict[str, Any]
) -> None:
    """A region typed as a spreadsheet formula: the download's name keeps only safe characters,
    its Excel file says the filter in a second sheet, as text, and the CSV keeps the table."""
    import io
    import shutil

    from openpyxl import load_workbook

    from crm_core import ingest
    from crm_core.engine import db

    formula = "=cmd|' /C calc'!A0"
    src = tmp_path / "src"
    shutil.copytree(fixtures / "net", src)
    customers = src / "customers.csv"
    customers.write_text(customers.read_text().replace(",East,", f',"{formula}",'))
    path = tmp_path / "crm.duckdb"
    con = db.connect(path)
    tables = ("customers", "orders", "leads")
    ingest.load(con, [ingest.Source(src / f"{t}.csv", t) for t in tables], "replace")
    con.close()

    made = deferred_downloads
    at = make_app_test(path, "pages/pyramid.py", {"lang": "zh", "region": formula}).run()
    assert not at.exception, [e.value for e in at.exception]
    # The net fixture's last order is 2024-09-01 (orders.csv), so the sidebar's period is the 12
    # months 2023-09-02 to 2024-09-01 and it names the file instead of the data date.
    # "=cmd|' /C calc'!A0" -> "cmd-C-calc-A0" (export.name_token).
    csv_name = "customers-tier-diamond_2023-09-02至2024-09-01_区域-cmd-C-calc-A0.csv"
    assert csv_name in made, sorted(str(n) for n in made)
    xlsx = made[csv_name.replace(".csv", ".xlsx")]()  # type: ignore[operator]
    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames[1] == "筛选与日期"
    about = {r[0].value: r[1] for r in wb["筛选与日期"].iter_rows()}
    assert about["区域"].value == formula and about["区域"].data_type == "s"
    assert about["数据日期"].value == "2024-09-01"  # the period's end (meeting.data_date)
    assert f"区域 = {formula}" in about["筛选"].value
    # The CSV holds only the table (a script reading it is unchanged), formulas neutralised.
    text = made[csv_name]().decode("utf-8-sig")  # type: ignore[operator]
    assert not text.startswith(("#", "筛选"))


# Latin words a Chinese error box may hold besides the user's own text (as the browser check's
# allowlist, tests/e2e/test_zh_screens.py, plus the file kinds a refused upload is named as).
ZH_ERROR_ALLOWED = {
    "csv", "tsv", "txt", "excel", "xlsx", "xls", "utf", "gbk", "gb", "bom", "kb", "mb", "wps",
    "office", "png",
}  # fmt: skip


def chinese_errors(at, name: str) -> str:  # type: ignore[no-untyped-def]
    """The page's error boxes as read, minus the file name and the values quoted “…”; fails on
    a Latin word outside ZH_ERROR_ALLOWED."""
    text = "\n".join(unescaped(e.value) for e in at.error)
    product = re.sub(r"“[^”]*”", "", text.replace(name, ""))
    latin = {w for w in re.findall(r"[A-Za-z]+", product) if w.lower() not in ZH_ERROR_ALLOWED}
    assert not latin, (latin, text)
    return text


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "照片.csv",
            (ROOT / "tests/fixtures/bad/orders_png_renamed_to_csv.csv").read_bytes(),
            "照片.csv：这不是 CSV 文本文件：看起来是一张 PNG 图片。请上传 CSV 导出文件本身。",
        ),
        ("空白.csv", b"\n\n", "空白.csv：文件是空的"),
        ("零.csv", b"", "零.csv：文件是空的"),
        (
            # Bytes FF FE 80 BD on line 4: neither UTF-8 nor GB18030.
            "乱码.csv",
            (ROOT / "tests/fixtures/bad/orders_gbk_undecodable_bytes.csv").read_bytes(),
            "位置：第 4 行 “FF FE 80 BD”",
        ),
        (
            "二进制.csv",
            (ROOT / "tests/fixtures/bad/orders_nul_bytes.csv").read_bytes(),
            "二进制.csv：这不是 CSV 文本文件：其中含有空字节（二进制数据），位置：第 3 行",
        ),
    ],
    ids=["png", "blank", "empty", "undecodable", "nul"],
)
def test_data_page_refuses_a_file_in_chinese(
    name: str, data: bytes, expected: str, demo_copy: Path, app_env: None
) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "zh"}).run()
    at.get("file_uploader")[0].set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert expected in chinese_errors(at, name)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            # Order 1001 on rows 2 and 3: one duplicated value, with the rows it is on.
            "重复.csv",
            "订单编号,客户编号,下单日期,金额\n1001,C1,2024/1/2,5\n1001,C1,2024/1/3,6\n",
            "订单编号重复（订单明细导出需要数量和单价列，才能区分同一订单的各行），"
            "共 1 个重复值，例如 “1001”（第 2、3 行）",
        ),
        (
            # 10^20 × 10^11 is past an amount's 14 digits: DuckDB's conversion error before.
            "明细.csv",
            "订单编号,客户编号,下单日期,数量,单价\nA1,C1,2024/1/2,100000000000000000000,"
            "99999999999\nA2,C1,2024/1/2,1,2\n",
            "字段“金额”：数量 × 单价超出金额的上限（最多 14 位整数），"
            "位置：第 2 行 “100000000000000000000 × 99999999999”",
        ),
        (
            # A cell with an unterminated quote on line 3, as DuckDB reports it.
            "引号.csv",
            '订单编号,客户编号,下单日期,金额\n1001,C1,2024/1/2,5\n1002,C1,2024/1/3,"6\n',
            '第 3 行与表头不符（列数不对或引号不成对）：“1002,C1,2024/1/3,"6”',
        ),
    ],
    ids=["duplicate", "overflow", "quote"],
)
def test_data_page_validation_errors_in_chinese(
    name: str, text: str, expected: str, demo_copy: Path, app_env: None
) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "zh"}).run()
    at.get("file_uploader")[0].set_value((name, text.encode("utf-8"), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label == "校验").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = chinese_errors(at, name)
    assert f"{name}：" in errors and expected in errors, errors


def test_value_page_says_why_a_tier_is_net_negative(demo_copy: Path, app_env: None) -> None:
    from crm_core.engine import db
    from crm_core.metrics import overview, value

    con = db.connect(demo_copy)
    pyr = value.value_pyramid(con, overview.default_period(con), lang="zh")
    con.close()
    neg = value.negative_net_tiers(pyr)
    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    said = [c.value for c in at.caption if "并非错误" in c.value]
    # One caption per net-negative tier. On the demo: the sleeping tier, whose returns in the
    # default window (5,002.25) exceed its sales there (4,404.25): net -598.00.
    assert list(neg["tier"]) == ["sleeping"] and neg["revenue"].iloc[0] == -598.0
    assert len(said) == len(neg), said
    for (_, row), text in zip(neg.iterrows(), said, strict=True):
        assert text.startswith(f"“{row['label']}”层的净销售额为 -"), text


def test_a_stopped_render_ends_its_read_and_the_next_page_opens(
    demo_copy: Path, app_env: None
) -> None:
    # The Customer page without ?id= stops its run (st.stop) inside the render's read
    # transaction: the next run of the session must find it ended, not "a transaction within a
    # transaction".
    at = make_app_test(demo_copy, "pages/customer.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/present.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_render_reads_the_data_version_once(
    demo_copy: Path, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every ui.cached call keys on the data version; one render reads one DuckDB snapshot, so
    # the version is read once, not once per call (the Pyramid page makes a dozen calls).
    from crm_core.engine import db

    reads: list[str] = []
    real = db.query_rows

    def counted(con: Any, name: str, **params: Any) -> list[tuple]:
        if name == "data_version":
            reads.append(name)
        return real(con, name, **params)

    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "en"}).run()  # fills the caches
    assert not at.exception, [e.value for e in at.exception]
    monkeypatch.setattr(db, "query_rows", counted)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert reads == ["data_version"]


def test_prepared_tables_are_bounded_in_count_and_bytes() -> None:
    import pyarrow as pa

    from crm_core.engine.lru import LRU

    prepared: LRU[bytes, tuple] = LRU(3, 100, lambda v: v[1].nbytes)  # as ui.tables keeps them
    tables = {
        k: ({}, pa.table({"x": list(range(n))})) for k, n in ((b"a", 2), (b"b", 2), (b"c", 4))
    }
    for k, v in tables.items():
        prepared.put(k, v)
    # 2 + 2 + 4 int64 values = 64 bytes: all kept; "a" used, then a 5th table of 48 bytes
    assert prepared.weight == 64 and prepared.get(b"a") is tables[b"a"]
    prepared.put(b"d", ({}, pa.table({"x": list(range(6))})))
    # 112 bytes > 100: the least recently used ("b", 16 bytes) goes, then 96 bytes remain
    assert [prepared.get(k) is not None for k in (b"b", b"c", b"a", b"d")] == [
        False,
        True,
        True,
        True,
    ] and prepared.weight == 96
    # Read in that order, "a" and "d" are now the most recent; over the count, "c" goes.
    prepared.put(b"e", ({}, pa.table({"x": [1]})))
    assert prepared.get(b"c") is None and len(prepared) == 3
    assert prepared.weight == 16 + 48 + 8
    # Written again, a key is replaced and weighed again; too heavy alone, it is not kept.
    prepared.put(b"e", ({}, pa.table({"x": list(range(13))})))
    assert prepared.get(b"e") is None and prepared.weight == 16 + 48
