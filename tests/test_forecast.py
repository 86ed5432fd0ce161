"""Forecasts: monthly series from a hand-made DuckDB, interval nesting, backtest, CLI, page."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_core import ingest
from crm_core.__main__ import main
from crm_core.engine import db
from crm_core.metrics import forecast, overview
from crm_core.metrics.filters import Filters

# 13 complete months 2024-01 .. 2025-01 and a part of 2025-02 (the last order is on 02-10):
#   E01 (East) 100 on the 5th of every month but June 2024 (no order from anyone in June),
#       returns 20 on 2024-04-20 (C9001);
#   W01 (West) first buys 50 on 2024-03-15, then 70 on 2025-02-10 (the part-month).
CUSTOMERS = """customer_id,name,region,owner,created_at
E01,East Co,East,Zhang,2023-12-01
W01,West Co,West,Li,2023-12-01
"""


def _orders() -> str:
    rows = ["order_id,customer_id,order_date,amount,status"]
    months = pd.date_range("2024-01-01", "2025-01-01", freq="MS")
    for i, m in enumerate(months):
        if m.month == 6 and m.year == 2024:
            continue
        rows.append(f"{1000 + i},E01,{m:%Y-%m}-05 10:00:00,100.00,paid")
    rows.append("C9001,E01,2024-04-20 10:00:00,-20.00,")
    rows.append("2001,W01,2024-03-15 10:00:00,50.00,paid")
    rows.append("2002,W01,2025-02-10 10:00:00,70.00,paid")
    return "\n".join(rows) + "\n"


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(_orders(), encoding="utf-8")
    path = tmp_path / "small.duckdb"
    con = db.connect(path)
    ingest.load(
        con,
        [
            ingest.Source(tmp_path / "customers.csv", "customers"),
            ingest.Source(tmp_path / "orders.csv", "orders"),
        ],
    )
    con.close()
    return path


def _seasonal(n: int = 36) -> forecast.Series:
    # 100 + 20 sin(2 pi t / 12) + 2 t: a yearly wave on a rising line, no noise.
    t = np.arange(n)
    values = pd.Series(
        100 + 20 * np.sin(2 * np.pi * t / 12) + 2 * t,
        index=pd.date_range("2023-01-01", periods=n, freq="MS"),
    )
    return forecast.Series("revenue", values, None)


# --------------------------------------------------------------------------- the series


def test_monthly_series_is_net_zero_filled_and_drops_the_part_month(small_db: Path) -> None:
    con = db.connect(small_db)
    s = forecast.monthly_series(con, "revenue")
    # Last order 2025-02-10: February 2025 is not over, so it is left out.
    assert s.partial_month == dt.date(2025, 2, 1)
    assert len(s.values) == 13  # 2024-01 .. 2025-01
    v = {f"{k:%Y-%m}": x for k, x in s.values.items()}
    assert v["2024-03"] == 150  # E01 100 + W01 50
    assert v["2024-04"] == 80  # 100 - the 20 returned that month
    assert v["2024-06"] == 0  # no orders: a zero month, not a gap
    assert v["2025-01"] == 100
    # The same figures as the Overview's monthly chart, month for month.
    trend = overview.monthly_trend(con, overview.Period(dt.date(2024, 1, 1), dt.date(2025, 1, 31)))
    for m, rev in zip(trend["month"], trend["revenue"], strict=True):
        assert v[f"{m:%Y-%m}"] == pytest.approx(float(rev))
    new = forecast.monthly_series(con, "new_customers").values
    assert list(new[new > 0].index.strftime("%Y-%m")) == ["2024-01", "2024-03"]  # E01, W01
    east = forecast.monthly_series(con, "revenue", Filters(region="East")).values
    assert east[pd.Timestamp("2024-03-01")] == 100  # W01's 50 is filtered out
    scoped = forecast.monthly_series(con, "revenue", Filters(regions=("West",))).values
    assert scoped.sum() == 50  # the scope keeps W01 only; its 70 is in the part-month
    con.close()


def test_period_end_is_the_forecast_origin_and_the_start_keeps_the_history(
    small_db: Path,
) -> None:
    con = db.connect(small_db)
    f = Filters(start=dt.date(2024, 11, 1), end=dt.date(2024, 12, 15))
    s = forecast.monthly_series(con, "revenue", f)
    # Ends inside December 2024: December is partial; 2024-01 .. 2024-11 = 11 months.
    assert s.partial_month == dt.date(2024, 12, 1)
    assert f"{s.values.index[0]:%Y-%m}" == "2024-01" and len(s.values) == 11
    con.close()


# --------------------------------------------------------------------------- model and backtest


def test_intervals_nest_and_the_model_beats_seasonal_naive() -> None:
    result = forecast.forecast_series(_seasonal(), 6)
    assert result["status"] == "ok" and result["model"] == "ETS(A,Ad,A)"
    assert [p["month"] for p in result["points"]] == [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"
    ]  # fmt: skip
    for p in result["points"]:
        assert p["lower95"] <= p["lower80"] <= p["forecast"] <= p["upper80"] <= p["upper95"]
    # Month 36 (2026-01) continues the pattern: 100 + 20 sin(6 pi) + 72 = 172.
    assert result["points"][0]["forecast"] == pytest.approx(172, abs=2)
    bt = result["backtest"]
    assert bt["origins"] == 6 and bt["points"] == 21  # 6+5+4+3+2+1 months in the history
    # Seasonal naive misses by the year's trend, 2 * 12 = 24 each month (~15 % here); the
    # model follows both trend and season.
    assert bt["naive_mape"] > 13 and bt["mape"] < bt["naive_mape"] / 5
    assert result["alert"] is False  # the last month is on the pattern


def test_seasonal_naive_mape_by_hand() -> None:
    y = _seasonal().values.to_numpy()
    # One origin (month 35), horizon 1: actual y35 = 100 + 20 sin(35 pi / 6) + 70
    # = 170 + 20 * (-0.5) = 160; naive y23 = 100 + 20 sin(23 pi / 6) + 46 = 146 - 10 = 136;
    # error 24 / 160 = 15 %.
    assert forecast.backtest(y, 1, origins=1)["naive_mape"] == pytest.approx(15.0)
    # Two origins add month 34: y34 = 168 + 20 sin(17 pi / 3) = 168 - 17.3205 = 150.6795,
    # error 24 / 150.6795 = 15.928 %; mean (15 + 15.928) / 2 = 15.464.
    two = 100 * (24 / 160 + 24 / (168 - 10 * math.sqrt(3))) / 2
    assert forecast.backtest(y, 1, origins=2)["naive_mape"] == pytest.approx(two, abs=0.01)


def test_mape_skips_zero_actuals() -> None:
    # |10-12|/10 = 20 %, the zero month is skipped, |20-15|/20 = 25 %: mean 22.5 %.
    assert forecast.mape([10, 0, 20], [12, 5, 15]) == pytest.approx(22.5)
    assert forecast.mape([0, 0], [1, 2]) is None


def test_alert_when_the_latest_month_jumps() -> None:
    s = _seasonal()
    jumped = s.values.copy()
    jumped.iloc[-1] = 400  # the pattern says 160
    result = forecast.forecast_series(forecast.Series("revenue", jumped, None), 3)
    assert result["alert"] is True
    latest = result["latest"]
    assert latest["month"] == "2025-12" and latest["actual"] == 400
    assert latest["upper95"] < 400


def test_short_history_gets_no_seasonal_term_and_eleven_months_get_no_forecast() -> None:
    assert forecast.forecast_series(_seasonal(18), 3)["model"] == "ETS(A,Ad,N)"
    short = forecast.forecast_series(_seasonal(11), 3)
    assert short["status"] == "insufficient_history"
    assert "points" not in short and "11" in short["error"]


# --------------------------------------------------------------------------- CLI


def test_cli_json_keys(small_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "--db", str(small_db), "--metric", "revenue", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "ok" and out["partial_month"] == "2025-02"
    assert len(out["points"]) == 6 and out["points"][0]["month"] == "2025-02"
    assert set(out["points"][0]) == {
        "month",
        "forecast",
        "lower80",
        "upper80",
        "lower95",
        "upper95",
    }
    assert {"mape", "naive_mape"} <= set(out["backtest"])
    # One origin (month 12 = 2025-01, 100) and its naive value y0 = 2024-01, 100: 0 % error.
    assert out["backtest"]["naive_mape"] == 0.0 and out["backtest"]["points"] == 1
    assert isinstance(out["alert"], bool)


def test_cli_insufficient_history_and_bad_filter(
    small_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["forecast", "--db", str(small_db), "--metric", "new_customers", "--months", "3"]
    assert main([*args, "--end", "2024-12-15"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "insufficient_history" and "11" in out["error"]  # 2024-01 .. 2024-11
    assert main([*args, "--region", "North"]) == 2
    assert "North" in capsys.readouterr().err


# --------------------------------------------------------------------------- demo and page


def test_demo_complaints_series_matches_monthly_counts(demo_con: db.Connection) -> None:
    from crm_core.metrics import complaints

    s = forecast.monthly_series(demo_con, "complaints")
    counts = complaints.monthly_counts(demo_con)
    for m, v in s.values.items():
        assert v == counts.get(f"{m:%Y-%m}", 0)


def test_chart_has_history_forecast_bands_and_the_alert_mark() -> None:
    from crm_core.present import charts

    s = _seasonal()
    jumped = s.values.copy()
    jumped.iloc[-1] = 400
    result = forecast.forecast_series(forecast.Series("revenue", jumped, None), 3)
    labels = {"actual": "A", "forecast": "F", "band80": "B80", "band95": "B95", "alert": "X"}
    fig = charts.forecast_chart(result, labels, "T", "en")
    by_name = {tr.name: tr for tr in fig.data if tr.name}
    assert set(by_name) == {"A", "F", "B80", "B95", "X"}
    assert len(by_name["A"].x) == 36 and "markers" in by_name["A"].mode
    assert list(by_name["F"].y) == [p["forecast"] for p in result["points"]]
    # The bands start at the last actual month so that they join the line: 1 + 3 points.
    assert len(by_name["B95"].y) == 4 and by_name["B95"].y[0] == 400
    assert list(by_name["X"].y) == [400]


def test_overview_shows_the_forecast_section(demo_copy: Path, app_env: None) -> None:
    from conftest import make_app_test

    from crm_core.present import i18n

    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert i18n.t("forecast.title", "en") in [h.value for h in at.subheader]
    labels = [m.label for m in at.metric]
    assert i18n.t("forecast.mape", "en") in labels
    assert i18n.t("forecast.naive_mape", "en") in labels
    con = db.connect(demo_copy)
    expected = forecast.forecast(con, "revenue", 6)
    con.close()
    shown = next(m for m in at.metric if m.label == i18n.t("forecast.mape", "en"))
    assert shown.value == f"{expected['backtest']['mape']:.1f}%"
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    fc = next(s for s in specs if s["layout"]["title"]["text"].startswith("Net revenue"))
    months = [p["month"] for p in expected["points"]]
    assert next(t for t in fc["data"] if t.get("name") == "Forecast")["x"] == months
    at.radio(key="forecast_metric").set_value("complaints").run()
    assert not at.exception
