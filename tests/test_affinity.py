"""Cross-sell affinity: pair rules over customers' baskets, next-best items, CLI, page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import make_app_test

from crm_core.__main__ import main
from crm_core.engine import db
from crm_core.metrics import affinity, overview
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import charts

YEAR = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
# Every rule with at least one customer, whatever its support.
ALL_RULES = affinity.Thresholds(min_customers=1, min_support=0.0)
D = dt.datetime


def add(con: db.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts of column -> value) into a canonical table."""
    if table == "orders":
        rows = [{"line_no": 1, "is_return": False, **r} for r in rows]
    cols = sorted({k for r in rows for k in r})
    con.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [[r.get(c) for c in cols] for r in rows],
    )


def line(oid: str, cid: str, item: str, amount: float, **kw: Any) -> dict[str, Any]:
    return {"order_id": oid, "customer_id": cid, "category": item, "amount": amount,
            "order_date": kw.pop("at", D(2024, 3, 1)), **kw}  # fmt: skip


@pytest.fixture
def six(con: db.Connection) -> db.Connection:
    """Six baskets (customers) over categories X, Y, Z in 2024:
    c1 {X, Y}  c2 {X, Y}  c3 {X, Y, Z}  c4 {Z}  c5 {Z}  c6 {Y}
    c4 bought X and returned it (net 0: not bought), c7 bought Z and returned it (no basket at
    all), c5 bought X in 2023 (outside the window)."""
    add(con, "customers", [
        {"customer_id": f"c{i}", "name": f"n{i}", "owner": "Ann" if i in (1, 3, 5) else "Bob"}
        for i in range(1, 8)
    ])  # fmt: skip
    add(con, "orders", [
        line("o1", "c1", "X", 100), line("o1b", "c1", "Y", 40),
        line("o2", "c2", "X", 200), line("o2b", "c2", "Y", 40),
        line("o3", "c3", "X", 300), line("o3b", "c3", "Y", 40), line("o3c", "c3", "Z", 600),
        line("o4", "c4", "Z", 300), line("o4x", "c4", "X", 500),
        line("r4x", "c4", "X", -500, is_return=True, at=D(2024, 4, 1)),
        line("o5", "c5", "Z", 300), line("o5old", "c5", "X", 900, at=D(2023, 6, 1)),
        line("o6", "c6", "Y", 80),
        line("o7", "c7", "Z", 50), line("r7", "c7", "Z", 50, is_return=True),
    ])  # fmt: skip
    return con


def rules_by_pair(df: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["antecedent"], r["consequent"]): r for r in df.to_dict("records")}


def test_six_baskets_support_confidence_lift_by_hand(six: db.Connection) -> None:
    assert affinity.item_kind(six) == "category"
    rules = rules_by_pair(affinity.association_rules(six, YEAR, thresholds=ALL_RULES))
    # N = 6 baskets (c1..c6; c7 returned all it bought). Buyers: X 3 (c1 c2 c3; c4's X nets to
    # 0, c5's is from 2023), Y 4 (c1 c2 c3 c6), Z 3 (c3 c4 c5). Both: XY 3, XZ 1 (c3), YZ 1 (c3).
    expected = {
        # (customers, support, confidence, lift)
        ("X", "Y"): (3, 3 / 6, 3 / 3, (3 / 3) / (4 / 6)),  # lift 1 / 0.667 = 1.5
        ("Y", "X"): (3, 3 / 6, 3 / 4, (3 / 4) / (3 / 6)),  # lift 0.75 / 0.5 = 1.5
        ("X", "Z"): (1, 1 / 6, 1 / 3, (1 / 3) / (3 / 6)),  # lift 0.333 / 0.5 = 0.667
        ("Z", "X"): (1, 1 / 6, 1 / 3, (1 / 3) / (3 / 6)),  # lift 0.667
        ("Y", "Z"): (1, 1 / 6, 1 / 4, (1 / 4) / (3 / 6)),  # lift 0.25 / 0.5 = 0.5
        ("Z", "Y"): (1, 1 / 6, 1 / 3, (1 / 3) / (4 / 6)),  # lift 0.333 / 0.667 = 0.5
    }
    assert set(rules) == set(expected)
    for pair, (n, support, confidence, lift) in expected.items():
        r = rules[pair]
        assert r["customers"] == n and r["baskets"] == 6, pair
        assert r["support"] == pytest.approx(support), pair
        assert r["confidence"] == pytest.approx(confidence), pair
        assert r["lift"] == pytest.approx(lift), pair
    assert rules[("X", "Y")]["lift"] == pytest.approx(1.5)


def test_thresholds_drop_rare_pairs(six: db.Connection) -> None:
    # At least 2 customers with both and support >= 0.3: only X-Y (3 customers, 3/6 = 0.5).
    th = affinity.Thresholds(min_customers=2, min_support=0.3)
    df = affinity.association_rules(six, YEAR, thresholds=th)
    assert set(zip(df["antecedent"], df["consequent"], strict=True)) == {("X", "Y"), ("Y", "X")}
    # Support 0.5 is below a 0.6 minimum: nothing is left.
    none = affinity.association_rules(six, YEAR, thresholds=affinity.Thresholds(1, 0.6))
    assert none.empty


def test_scope_restricts_the_baskets(six: db.Connection) -> None:
    # Ann's customers: c1 {X, Y}, c3 {X, Y, Z}, c5 {Z}: N = 3, X 2, Y 2, XY 2.
    f = Filters(owners=("Ann",))
    rules = rules_by_pair(affinity.association_rules(six, YEAR, f, thresholds=ALL_RULES))
    r = rules[("X", "Y")]
    assert (r["customers"], r["baskets"]) == (2, 3)
    assert r["support"] == pytest.approx(2 / 3)  # 2 of 3 baskets
    assert r["confidence"] == pytest.approx(1.0)  # 2 / 2
    assert r["lift"] == pytest.approx(1.5)  # 1 / (2 / 3)


def test_next_best_by_hand(six: db.Connection) -> None:
    nb = affinity.next_best(six, YEAR, thresholds=ALL_RULES)
    got = {
        (r["customer_id"], r["suggestion_rank"]): (r["item"], r["because"], r["expected_value"])
        for r in nb.to_dict("records")
    }
    # Average net spend among buyers: X (100 + 200 + 300) / 3 = 200, Y (40 * 3 + 80) / 4 = 50,
    # Z (600 + 300 + 300) / 3 = 400. Expected value = confidence x that average; of two rules
    # for one item the more confident one speaks for it.
    assert got == {
        # c1, c2 {X, Y}: Z via X->Z (1/3) rather than Y->Z (1/4): 400 / 3 = 133.33
        ("c1", 1): ("Z", "X", pytest.approx(400 / 3)),
        ("c2", 1): ("Z", "X", pytest.approx(400 / 3)),
        # c4 {Z} has a (returned) X line, so only Y: Z->Y 1/3 x 50 = 16.67
        ("c4", 1): ("Y", "Z", pytest.approx(50 / 3)),
        # c5 {Z}: X via Z->X 1/3 x 200 = 66.67, then Y 1/3 x 50 = 16.67
        ("c5", 1): ("X", "Z", pytest.approx(200 / 3)),
        ("c5", 2): ("Y", "Z", pytest.approx(50 / 3)),
        # c6 {Y}: X via Y->X 3/4 x 200 = 150, then Z via Y->Z 1/4 x 400 = 100
        ("c6", 1): ("X", "Y", pytest.approx(150.0)),
        ("c6", 2): ("Z", "Y", pytest.approx(100.0)),
    }  # c3 bought all three; c7 has no basket
    assert list(nb["owner"].unique()) == ["Ann", "Bob"]  # grouped by owner
    owners = affinity.next_best_by_owner(nb).set_index("owner")
    # Bob: c2 133.33 + c4 16.67 + c6 150 = 300 (3 customers, 1 + 1 + 2 suggestions);
    # Ann: c1 133.33 + c5 66.67 = 200 (2 customers, 1 + 2 suggestions).
    assert owners.loc["Bob"].tolist() == [3, 4, pytest.approx(300.0)]
    assert owners.loc["Ann"].tolist() == [2, 3, pytest.approx(200.0)]
    assert list(owners.index) == ["Bob", "Ann"]
    # One suggestion per customer at most.
    one = affinity.next_best(six, YEAR, thresholds=ALL_RULES, per_customer=1)
    assert one["customer_id"].tolist() == ["c1", "c5", "c6", "c2", "c4"]  # Ann, then Bob by value


def test_products_when_the_export_has_no_category(con: db.Connection) -> None:
    # Retail line items, no category: d1 {A, B}, d2 {A, B}, d3 {A, C}, d4 {B}.
    rows = [("d1", "A"), ("d1", "B"), ("d2", "A"), ("d2", "B"), ("d3", "A"), ("d3", "C"),
            ("d4", "B")]  # fmt: skip
    add(con, "orders", [
        {"order_id": f"i{n}", "customer_id": c, "product": p, "amount": 10,
         "order_date": D(2024, 5, 1)}
        for n, (c, p) in enumerate(rows)
    ])  # fmt: skip
    assert affinity.item_kind(con) == "product"
    # Two items at most: A and B (3 buyers each) are kept, C (1 buyer) is not; N stays 4.
    th = affinity.Thresholds(min_customers=1, min_support=0.0, max_items=2)
    rules = rules_by_pair(affinity.association_rules(con, YEAR, thresholds=th))
    assert set(rules) == {("A", "B"), ("B", "A")}
    r = rules[("A", "B")]
    assert (r["customers"], r["baskets"]) == (2, 4)  # d1, d2 of 4 baskets
    assert r["support"] == pytest.approx(0.5)  # 2 / 4
    assert r["confidence"] == pytest.approx(2 / 3)  # 2 of A's 3 buyers
    assert r["lift"] == pytest.approx(8 / 9)  # (2/3) / (3/4)
    doc = affinity.affinity_json(con, Filters(YEAR.start, YEAR.end))
    assert doc["item"] == "product" and doc["baskets"] == 4
    # Products' default support floor is a tenth of categories': each product has few buyers.
    assert doc["thresholds"] == {"min_customers": 5, "min_support": 0.001, "max_items": 200}
    assert doc["rules"] == []  # no pair has 5 customers


def test_cli_json(demo_db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["affinity", "--db", str(demo_db_file), "--json", "--region", "华东"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["item"] == "category" and doc["rules"]
    for r in doc["rules"]:
        assert set(r) == {"antecedent", "consequent", "support", "confidence", "lift", "customers"}
    con = db.connect(demo_db_file, read_only=True)
    try:
        f = Filters(region="华东")
        period = affinity.window(con, f)
        assert period is not None
        df = affinity.association_rules(con, period, f)
    finally:
        con.close()
    first = doc["rules"][0]
    assert first["antecedent"] == df["antecedent"][0]
    assert first["lift"] == pytest.approx(df["lift"][0])
    assert doc["baskets"] == int(df["baskets"][0])
    # support = customers / baskets, as the definition says
    assert first["support"] == pytest.approx(first["customers"] / doc["baskets"])


def test_heatmap_is_lift_by_pair() -> None:
    import pandas as pd

    df = pd.DataFrame({"antecedent": ["X", "Y"], "consequent": ["Y", "X"], "lift": [1.5, 1.2]})
    fig = charts.lift_heatmap(df, "t", "A", "B")
    h = fig.data[0]
    assert list(h.x) == ["X", "Y"] and list(h.y) == ["X", "Y"]
    # rows: antecedent; columns: consequent; no rule on the diagonal
    assert h.z[0][1] == 1.5 and h.z[1][0] == 1.2 and h.z[0][0] is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_on_demo(lang: str, demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/affinity.py", {"lang": lang}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "heatmap"
    assert len(at.dataframe) >= 2  # the rules and the next-best list


def test_next_best_view_is_the_list_summed_and_topped(demo_copy: Path) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    whole = affinity.next_best(con, period)
    view = affinity.next_best_view(con, period, top=25)
    con.close()
    assert view.rows == len(whole) > 25
    pd.testing.assert_frame_equal(view.by_owner, affinity.next_best_by_owner(whole))
    best = whole.sort_values("expected_value", ascending=False, kind="stable").head(25)
    pd.testing.assert_frame_equal(view.top, best.reset_index(drop=True))


def test_page_download_holds_the_whole_next_best_list(
    demo_copy: Path, app_env: None, deferred_downloads: dict[str, Any]
) -> None:
    made = deferred_downloads
    at = make_app_test(demo_copy, "pages/affinity.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    (name,) = [
        n for n in made if str(n).startswith("affinity-next-best") and str(n).endswith(".csv")
    ]
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    whole = affinity.next_best(con, period)
    con.close()
    # The page shows the top 200 rows; the download, read when clicked, holds every row.
    text = made[name]().decode("utf-8-sig")  # type: ignore[operator]
    assert len(text.splitlines()) == len(whole) + 1 > 201
