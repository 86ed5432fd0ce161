"""Tests of the BG/NBD and Gamma-Gamma model core against hand arithmetic and the CDNOW results."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from crm_core.metrics.clv_models import (
    BGNBDParams,
    FitError,
    GammaGammaParams,
    bgnbd_expected_purchases,
    bgnbd_identification,
    bgnbd_p_alive,
    bgnbd_unconditional_expected,
    clv,
    cumulative_tracking,
    distinct_rows,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    holdout_comparison,
    rfm_summary,
)

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"

# Published estimates on the CDNOW sample (Fader, Hardie & Lee 2005; see SOURCE.txt).
PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=-9582.4, converged=True,
                        iterations=0)  # fmt: skip


def _cdnow_dir() -> Path | None:
    """The CDNOW folder: $CRM_LENS_SHARED_DATA(/cdnow) first, else ../shared/data/cdnow."""
    candidates = []
    env = os.environ.get("CRM_LENS_SHARED_DATA")
    if env:
        # Accept both the shared data root and the cdnow folder itself.
        candidates += [Path(env) / "cdnow", Path(env)]
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cdnow")
    for folder in candidates:
        if (folder / "CDNOW_sample.txt").is_file():
            return folder
    return None


@pytest.fixture(scope="module")
def cdnow_dir() -> Path:
    folder = _cdnow_dir()
    if folder is None:
        pytest.skip(
            "CDNOW data not found: expected shared/data/cdnow/CDNOW_sample.txt next to the repo "
            "or under $CRM_LENS_SHARED_DATA"
        )
    return folder


@pytest.fixture(scope="module")
def cdnow_transactions(cdnow_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(
        cdnow_dir / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    # The published summaries number customers by sample_id (1..2357).
    return pd.DataFrame(
        {
            "customer_id": raw["sample_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollars"],
        }
    )


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(
        cdnow_transactions, CALIBRATION_END, unit="week", observation_end=OBSERVATION_END
    )


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow_summary: pd.DataFrame) -> BGNBDParams:
    s = cdnow_summary
    return fit_bgnbd(s["frequency"], s["recency"], s["T"])


def _round_half_up(values: pd.Series, decimals: int = 2) -> pd.Series:
    # The reference CSVs were rounded half-up (spreadsheet style); numpy rounds half to even and
    # x.xx5 means are not exact in binary, hence the small nudge.
    scale = 10.0**decimals
    return np.floor(values * scale + 0.5 + 1e-6) / scale


# ---------------------------------------------------------------------------------------------
# CDNOW: reproduce the published summary and estimates
# ---------------------------------------------------------------------------------------------


def test_rfm_summary_reproduces_published_cdnow_summary(
    cdnow_dir: Path, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary
    assert len(s) == 2357
    # T is measured to the calibration_end day itself: a 1997-01-01 customer has T = 272/7.
    assert s.loc[1, "T"] == pytest.approx(272 / 7)

    ref = pd.read_csv(cdnow_dir / "cdnow_customers_summary.csv").set_index("ID")
    assert list(ref.index) == list(s.index)
    assert (s["frequency"] == ref["frequency"]).all()
    np.testing.assert_allclose(_round_half_up(s["recency"]), ref["recency"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(_round_half_up(s["T"]), ref["T"], atol=1e-6, rtol=0)

    ref2 = pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    assert (s["frequency"] == ref2["x"]).all()
    np.testing.assert_allclose(_round_half_up(s["recency"]), ref2["t_x"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(_round_half_up(s["monetary_value"]), ref2["zbar"], atol=1e-6, rtol=0)


def test_bgnbd_fit_matches_published_estimates(cdnow_bgnbd: BGNBDParams) -> None:
    p = cdnow_bgnbd
    for name in ("r", "alpha", "a", "b"):
        assert getattr(p, name) == pytest.approx(getattr(PUBLISHED, name), rel=0.02), name
    assert p.loglik == pytest.approx(-9582.4, abs=0.5)
    assert p.converged


def test_gamma_gamma_fit_matches_published_estimates(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    assert int(((s["frequency"] > 0) & (s["monetary_value"] > 0)).sum()) == 946
    gg = fit_gamma_gamma(s["frequency"], s["monetary_value"])
    assert gg.p == pytest.approx(6.25, rel=0.02)
    assert gg.q == pytest.approx(3.74, rel=0.02)
    assert gg.gamma == pytest.approx(15.44, rel=0.02)
    # SOURCE.txt: the exact MLE gives gamma = 15.448.
    assert gg.gamma == pytest.approx(15.448, abs=0.01)
    assert gg.converged


def test_distinct_rows_by_hand() -> None:
    # Rows (1, 0.5), (0, 0), (1, 0.5), (1, 2): three distinct rows in order of first appearance,
    # the first standing for rows 0 and 2.
    (x, t), counts, of = distinct_rows([1, 0, 1, 1], [0.5, 0, 0.5, 2])
    assert x.tolist() == [1, 0, 1] and t.tolist() == [0.5, 0, 2]
    assert counts.tolist() == [2, 1, 1] and of.tolist() == [0, 1, 0, 2]


def test_bgnbd_on_distinct_histories_is_the_per_customer_fit(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams
) -> None:
    # The likelihood is a product over customers of a function of (x, t_x, T): the 2,357 CDNOW
    # customers share 1,016 histories, and weighting each by its customers is the same fit.
    s = cdnow_summary
    (x, t_x, big_t), weights, _ = distinct_rows(s["frequency"], s["recency"], s["T"])
    assert (len(x), weights.sum()) == (1016, 2357)
    fit = fit_bgnbd(x, t_x, big_t, weights)
    for name in ("r", "alpha", "a", "b", "loglik"):
        assert getattr(fit, name) == pytest.approx(getattr(cdnow_bgnbd, name), rel=1e-9), name
    ident = bgnbd_identification(fit, x, t_x, big_t, weights)
    per_customer = bgnbd_identification(cdnow_bgnbd, s["frequency"], s["recency"], s["T"])
    assert ident.status == per_customer.status == "ok"
    # Central differences of the gradient (step 1e-4) magnify its last-bit differences.
    for name, se in per_customer.standard_errors.items():
        assert ident.standard_errors[name] == pytest.approx(se, rel=1e-8), name


def test_holdout_aggregate_forecast(cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams) -> None:
    s = cdnow_summary
    assert s["holdout_duration"].iloc[0] == pytest.approx(39.0)  # 273 days, 1997-10-01..1998-06-30
    actual = int(s["holdout_frequency"].sum())
    assert actual == 1882
    predicted = float(
        bgnbd_expected_purchases(
            cdnow_bgnbd, s["holdout_duration"], s["frequency"], s["recency"], s["T"]
        ).sum()
    )
    # The lifetimes package (an independent implementation) gives 1653.4 on the published
    # summary with the same parameters.
    assert predicted == pytest.approx(1653.4, rel=0.005)
    # The BG/NBD under-forecasts this 39-week holdout by about 12 % (1653 vs 1882): a property of
    # the model on CDNOW (also visible at the end of the paper's Figure 3), not of this code. A
    # 5 % band on the holdout increment is therefore not attainable; 15 % guards against
    # regressions, and the cumulative 78-week total below is held to 5 %.
    assert abs(predicted - actual) / actual < 0.15


def test_holdout_comparison_by_frequency(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams
) -> None:
    table = holdout_comparison(cdnow_summary, cdnow_bgnbd)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert int(table["n_customers"].sum()) == 2357
    assert table.loc["0", "n_customers"] == 1411
    # Conditional expectations rise with calibration frequency, as in the paper's Figure 4.
    assert table["predicted"].is_monotonic_increasing
    assert table.loc["0", "actual"] == pytest.approx(334 / 1411)
    assert table.loc["0", "predicted"] == pytest.approx(table.loc["0", "actual"], rel=0.1)


def test_cumulative_tracking_follows_figure_3(
    cdnow_transactions: pd.DataFrame, cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams
) -> None:
    track = cumulative_tracking(
        cdnow_transactions, cdnow_bgnbd, None, CALIBRATION_END, OBSERVATION_END, unit="week"
    )
    # Grid anchored on 1997-09-30: 38 weeks back to 1997-01-07, 39 weeks forward to 1998-06-30.
    assert len(track) == 78
    assert track["period_end"].iloc[0] == pd.Timestamp("1997-01-07")
    assert track["period_end"].iloc[-1] == pd.Timestamp(OBSERVATION_END)
    at_cal = track.loc[track["period"] == 0].iloc[0]
    assert at_cal["cumulative_actual"] == cdnow_summary["frequency"].sum() == 2457
    end = track.iloc[-1]
    assert end["cumulative_actual"] == 2457 + 1882
    assert at_cal["cumulative_predicted"] == pytest.approx(2457, rel=0.02)
    assert end["cumulative_predicted"] == pytest.approx(end["cumulative_actual"], rel=0.05)
    assert track["cumulative_predicted"].is_monotonic_increasing

    # Passing the cohort's trial dates explicitly gives the same curve.
    first = cdnow_transactions.groupby("customer_id")["order_date"].min()
    again = cumulative_tracking(
        cdnow_transactions, cdnow_bgnbd, first, CALIBRATION_END, OBSERVATION_END
    )
    np.testing.assert_allclose(again["cumulative_predicted"], track["cumulative_predicted"])


def test_p_alive_on_cdnow(cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams) -> None:
    s = cdnow_summary
    alive = bgnbd_p_alive(cdnow_bgnbd, s["frequency"], s["recency"], s["T"])
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[s["frequency"].to_numpy() == 0] == 1.0)
    assert np.all(alive[s["frequency"].to_numpy() > 0] < 1.0)


# ---------------------------------------------------------------------------------------------
# Small hand-computable cases
# ---------------------------------------------------------------------------------------------


def _toy_transactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "A", "B", "B", "B", "C"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-15 09:00",  # two orders on 2024-01-15:
                    "2024-01-15 18:30",  # one purchase of 20 + 5 = 25
                    "2024-01-29",  # on calibration_end: still calibration
                    "2024-02-12",  # holdout
                    "2024-01-08",
                    "2024-02-26",  # on observation_end: still holdout
                    "2024-03-01",  # after observation_end: ignored
                    "2024-02-05",  # C's first purchase is after calibration_end: C is left out
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 20.0, 5.0, 30.0, 7.0, 50.0, 8.0, 9.0, 40.0],
        }
    )


def test_rfm_summary_toy_by_hand() -> None:
    s = rfm_summary(_toy_transactions(), "2024-01-29", observation_end="2024-02-26")
    assert list(s.index) == ["A", "B"]
    # A: purchase days 01-01, 01-15, 01-29 -> x = 3 - 1 = 2; t_x = 28 days = 4 weeks;
    #    T = 01-01..01-29 = 28 days = 4 weeks; repeat spend (25 + 30) / 2 = 27.5 (the first
    #    purchase, 10, is excluded); holdout: 02-12 -> 1 purchase.
    assert s.loc["A", "frequency"] == 2
    assert s.loc["A", "recency"] == pytest.approx(4.0)
    assert s.loc["A", "T"] == pytest.approx(4.0)
    assert s.loc["A", "monetary_value"] == pytest.approx(27.5)
    assert s.loc["A", "holdout_frequency"] == 1
    # B: one calibration purchase on 01-08 -> x = 0, t_x = 0, T = 21 days = 3 weeks, spend 0;
    #    holdout: 02-26 counts (on observation_end), 03-01 does not -> 1.
    assert s.loc["B", "frequency"] == 0
    assert s.loc["B", "recency"] == 0.0
    assert s.loc["B", "T"] == pytest.approx(3.0)
    assert s.loc["B", "monetary_value"] == 0.0
    assert s.loc["B", "holdout_frequency"] == 1
    # Holdout 01-29..02-26 = 28 days = 4 weeks for everyone.
    assert (s["holdout_duration"] == 4.0).all()

    days = rfm_summary(_toy_transactions(), "2024-01-29", unit="day")
    assert days.loc["A", "recency"] == 28.0 and days.loc["A", "T"] == 28.0
    assert days.loc["B", "T"] == 21.0
    assert "holdout_frequency" not in days.columns


def test_rfm_summary_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unit"):
        rfm_summary(_toy_transactions(), "2024-01-29", unit="month")
    with pytest.raises(ValueError, match="observation_end"):
        rfm_summary(_toy_transactions(), "2024-01-29", observation_end="2024-01-01")
    with pytest.raises(ValueError, match="amount"):
        rfm_summary(_toy_transactions().drop(columns="amount"), "2024-01-29")


def test_fit_errors_on_tiny_data() -> None:
    # 5 customers: far below the 20-customer minimum.
    with pytest.raises(FitError, match="at least 20 customers"):
        fit_bgnbd([1, 0, 2, 0, 3], [2.0, 0.0, 5.0, 0.0, 6.0], [10.0] * 5)
    # 30 customers but only 3 repeat buyers.
    x = [1, 2, 1] + [0] * 27
    t_x = [3.0, 5.0, 1.0] + [0.0] * 27
    with pytest.raises(FitError, match="repeat buyers"):
        fit_bgnbd(x, t_x, [10.0] * 30)
    # 12 repeat buyers, but 3 spent nothing on their repeat purchases: 9 usable < 10.
    with pytest.raises(FitError, match="positive spend"):
        fit_gamma_gamma([1] * 12, [20.0] * 9 + [0.0] * 3)


def test_invalid_rft_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="t_x <= T"):
        fit_bgnbd([1] * 30, [12.0] * 30, [10.0] * 30)
    with pytest.raises(ValueError, match="integers"):
        fit_bgnbd([0.5] * 30, [1.0] * 30, [10.0] * 30)


def test_p_alive_is_one_without_repeat_purchases() -> None:
    assert bgnbd_p_alive(PUBLISHED, 0, 0.0, 30.0) == 1.0
    # x = 2, t_x = 10, T = 30 by hand: 1 / (1 + a/(b+1) * ((alpha+30)/(alpha+10))^(r+2)).
    odds = 0.793 / 3.426 * ((4.414 + 30) / (4.414 + 10)) ** 2.243
    assert bgnbd_p_alive(PUBLISHED, 2, 10.0, 30.0) == pytest.approx(1 / (1 + odds))
    # Bought recently (t_x = T): more likely alive than after a long silence.
    assert bgnbd_p_alive(PUBLISHED, 2, 30.0, 30.0) > bgnbd_p_alive(PUBLISHED, 2, 5.0, 30.0)


def test_expectations_match_paper_formulas() -> None:
    """The code uses Euler-transformed 2F1 forms; they must equal eqs. 7 and 10 as printed."""
    r, alpha, a, b = PUBLISHED.r, PUBLISHED.alpha, PUBLISHED.a, PUBLISHED.b
    t = np.array([0.5, 1.0, 10.0, 39.0, 100.0])

    z = t / (alpha + t)
    eq7 = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    )
    np.testing.assert_allclose(bgnbd_unconditional_expected(PUBLISHED, t), eq7, rtol=1e-10)
    assert bgnbd_unconditional_expected(PUBLISHED, 0.0) == 0.0

    for x, t_x, big_t in [(0, 0.0, 30.0), (1, 12.0, 30.0), (5, 25.0, 38.0), (20, 37.0, 38.0)]:
        z = t / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
        den = 1 + (x > 0) * a / (b + max(x, 1) - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
        eq10 = (a + b + x - 1) / (a - 1) * num / den
        got = bgnbd_expected_purchases(PUBLISHED, t, x, t_x, big_t)
        np.testing.assert_allclose(got, eq10, rtol=1e-10)

    # A heavy buyer over a long horizon: finite (the printed form overflows to nan here).
    heavy = bgnbd_expected_purchases(PUBLISHED, 1000.0, 300, 29.0, 30.0)
    assert np.isfinite(heavy) and heavy > 0


def test_gamma_gamma_expected_spend_by_hand() -> None:
    gg = GammaGammaParams(p=6.0, q=4.0, gamma=15.0, loglik=0.0, converged=True)
    # x = 0: population mean gamma p / (q - 1) = 15 * 6 / 3 = 30.
    assert gamma_gamma_expected_spend(gg, 0, 0.0) == pytest.approx(30.0)
    # x = 2, m = 40: (q-1)/(px+q-1) = 3/15 on 30, px/(px+q-1) = 12/15 on 40 -> 6 + 32 = 38.
    assert gamma_gamma_expected_spend(gg, 2, 40.0) == pytest.approx(38.0)


def test_clv_one_step_without_discount_is_purchases_times_spend() -> None:
    gg = GammaGammaParams(p=6.0, q=4.0, gamma=15.0, loglik=0.0, converged=True)
    x, t_x, big_t, m = np.array([0, 2, 7]), np.array([0.0, 10.0, 30.0]), 32.0, [0.0, 40.0, 25.0]
    horizon = 13.0
    expected = bgnbd_expected_purchases(PUBLISHED, horizon, x, t_x, big_t)
    spend = gamma_gamma_expected_spend(gg, x, m)
    one_step = clv(PUBLISHED, gg, x, t_x, big_t, m, horizon, 0.0, step=horizon)
    np.testing.assert_allclose(one_step, expected * spend, rtol=1e-12)
    # Without discounting the per-step increments telescope to the same total.
    weekly = clv(PUBLISHED, gg, x, t_x, big_t, m, horizon, 0.0, step=1)
    np.testing.assert_allclose(weekly, one_step, rtol=1e-10)
    # One step with discount d: divided by (1 + d)^horizon; weekly discounting lies in between.
    disc = clv(PUBLISHED, gg, x, t_x, big_t, m, horizon, 0.01, step=horizon)
    np.testing.assert_allclose(disc, one_step / 1.01**horizon, rtol=1e-12)
    weekly_disc = clv(PUBLISHED, gg, x, t_x, big_t, m, horizon, 0.01, step=1)
    assert np.all((weekly_disc > disc) & (weekly_disc < one_step))


def test_fit_recovers_simulated_parameters() -> None:
    """Simulate the BG/NBD process and check the MLE lands near the truth."""
    rng = np.random.default_rng(7)
    n = 20_000
    r, alpha, a, b = 0.5, 5.0, 1.2, 3.0
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = rng.integers(1, 274, n) / 7.0
    purchases = rng.poisson(lam * big_t)  # repeat purchases while alive, in (0, T]
    drop_after = rng.geometric(p)  # dropout after the j-th repeat purchase
    x = np.minimum(purchases, drop_after)
    xs = np.maximum(x, 1)
    # Given n events of a Poisson process in (0, T], the x-th is T * Beta(x, n - x + 1).
    t_x = np.where(x > 0, big_t * rng.beta(xs, np.maximum(purchases - xs + 1, 1)), 0.0)
    fit = fit_bgnbd(x, t_x, big_t)
    assert fit.r == pytest.approx(r, rel=0.1)
    assert fit.alpha == pytest.approx(alpha, rel=0.15)
    assert fit.a == pytest.approx(a, rel=0.3)
    assert fit.b == pytest.approx(b, rel=0.3)
    # With churn in the data the dropout part is identified.
    assert bgnbd_identification(fit, x, t_x, big_t).status == "ok"


def test_no_churn_in_the_data_is_not_identified() -> None:
    # 500 customers observed for 26-52 weeks who buy at rates ~ Gamma(2, 10) (0.2 a week on
    # average) and never stop: nothing tells how fast customers drop out.
    rng = np.random.default_rng(1)
    big_t = rng.uniform(26, 52, 500)
    lam = rng.gamma(2.0, 1 / 10, 500)
    x, t_x = [], []
    for t_end, rate in zip(big_t, lam, strict=True):
        times = np.cumsum(rng.exponential(1 / rate, 200))
        times = times[times <= t_end]
        x.append(len(times))
        t_x.append(times[-1] if len(times) else 0.0)
    fit = fit_bgnbd(x, t_x, big_t)
    ident = bgnbd_identification(fit, x, t_x, big_t)
    assert ident.status == "not_identified"
    assert fit.a < 1e-4  # the dropout probability is pushed to 0 ...
    flat = next(r for r in ident.reasons if r["code"] == "flat_likelihood")
    assert max(flat["b_div"], flat["b_mul"]) < 1e-3  # ... and b can be anything
    # The purchase rate is still recovered: r ~ 2, alpha ~ 10.
    assert fit.r == pytest.approx(2.0, rel=0.15) and fit.alpha == pytest.approx(10.0, rel=0.15)


def test_rfm_summary_counts_local_days_across_dst() -> None:
    # Berlin switches to summer time on 2024-03-31: 03-20 -> 04-03 is still exactly 14 local days
    # (2 weeks), and two orders on 04-03 local time are one purchase even though one of them is
    # on 04-02 in UTC.
    dates = pd.to_datetime(
        ["2024-03-20 10:00", "2024-04-03 00:30", "2024-04-03 23:00"]
    ).tz_localize("Europe/Berlin")
    tx = pd.DataFrame({"customer_id": [1, 1, 1], "order_date": dates, "amount": [5.0, 6.0, 4.0]})
    s = rfm_summary(tx, "2024-04-03")
    assert s.loc[1, "frequency"] == 1
    assert s.loc[1, "recency"] == 2.0 and s.loc[1, "T"] == 2.0
    assert s.loc[1, "monetary_value"] == 10.0


def test_bgnbd_standard_errors_on_cdnow(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams
) -> None:
    s = cdnow_summary
    ident = bgnbd_identification(cdnow_bgnbd, s["frequency"], s["recency"], s["T"])
    assert ident.status == "ok" and ident.reasons == ()
    # Published standard errors (Fader, Hardie & Lee 2005): 0.0125, 0.378, 0.186, 0.705.
    for k, v in {"r": 0.0125, "alpha": 0.378, "a": 0.186, "b": 0.705}.items():
        assert ident.standard_errors[k] == pytest.approx(v, rel=0.03), k
    # Delta method: se(theta) = theta x se(log theta).
    assert ident.standard_errors["b"] == pytest.approx(
        cdnow_bgnbd.b * ident.log_standard_errors["b"]
    )
    # b / 10 and b x 10 both fit clearly worse (more than PROFILE_MIN_DROP = 1 log-lik unit).
    assert min(ident.profile_drops.values()) > 10


def test_a_dropout_parameter_on_the_bound_is_not_identified(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBDParams
) -> None:
    # a = e^-18, the edge of the optimiser's box: the data would push it to 0.
    s, p = cdnow_summary, cdnow_bgnbd
    edge = BGNBDParams(p.r, p.alpha, float(np.exp(-18.0)), p.b, p.loglik, True, 0, at_bound=True)
    ident = bgnbd_identification(edge, s["frequency"], s["recency"], s["T"])
    assert ident.status == "not_identified" and not ident.identified
    at_bound = [r for r in ident.reasons if r["code"] == "at_bound"]
    assert [r["parameter"] for r in at_bound] == ["a"]


def test_optimiser_blas_limit_outlives_the_first_of_overlapping_fits() -> None:
    # Two fits overlapping in two threads: the first to start finishes first. BLAS stays at one
    # thread until the last one ends, then gets its own count back (nested limits restored in
    # that order would leave it at one thread for good).
    from threadpoolctl import threadpool_info

    from crm_core.metrics.clv_models import fitting

    def blas() -> list[int]:
        return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]

    own = blas()
    first, second = fitting.optimiser_threads(), fitting.optimiser_threads()
    first.__enter__()
    second.__enter__()
    assert blas() == [1] * len(own)
    first.__exit__(None, None, None)
    assert blas() == [1] * len(own)
    second.__exit__(None, None, None)
    assert blas() == own
