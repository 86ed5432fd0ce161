"""Complaints: triggered by orders, a parts-shortage spike, SLA times, customers who leave."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import (
    ACC,
    COMPLAINT_CATS,
    N_COMPLAINTS,
    N_MONTHS,
    SERVICE_DESK,
    SLA_HOURS,
    SVC,
    TRIGGER_CAT_P,
    TRIGGER_WEIGHT,
)
from crm_core.ingest.demo.customers import _Customers
from crm_core.ingest.demo.draw import (
    COMPLAINT_PROFILE,
    _business,
    _choice_rows,
    _Ctx,
    _minute,
    _on_day,
    _pick,
)


def _complaints(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    o_t = orders["t"].to_numpy()
    o_cat = orders["cat"].to_numpy()
    o_c = orders["cust"].to_numpy()
    o_w = np.array([TRIGGER_WEIGHT[c] for c in o_cat])
    parts_ok = np.isin(o_cat, (SVC, ACC))

    # Complaints grow with the business but sublinearly: a bigger base, a more practised desk.
    vol = np.histogram(o_t, bins=ctx.bounds)[0].astype(float)
    lam = vol**0.45
    lam *= N_COMPLAINTS / lam.sum()
    # Less noise than Poisson on purpose: the demo should show ONE spike, not random look-alikes.
    n_m = np.round(lam * rng.normal(1, 0.06, N_MONTHS)).astype(int)
    t = np.concatenate(
        [
            ctx.bounds[m] + np.floor(rng.random(k) * (ctx.bounds[m + 1] - ctx.bounds[m]))
            for m, k in enumerate(n_m)
        ]
    )
    t = _on_day(rng, t, COMPLAINT_PROFILE)

    def trigger(times: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        out = np.full(len(times), -1)
        for i, ti in enumerate(times):
            lo, hi = np.searchsorted(o_t, [ti - 40, ti])
            if hi == 0:
                continue
            w = o_w[lo:hi] * np.exp(-(ti - o_t[lo:hi]) / 15)
            if mask is not None:
                w = w * mask[lo:hi]
            if w.sum() <= 0:
                continue
            out[i] = lo + rng.choice(hi - lo, p=w / w.sum())
        return out

    trig = trigger(t, None)
    t, trig = t[trig >= 0], trig[trig >= 0]
    cat_p = np.array([TRIGGER_CAT_P[c] for c in o_cat[trig]])
    cat = np.asarray(COMPLAINT_CATS)[_choice_rows(rng, cat_p)]

    # The parts shortage: two weeks in March 2026 where 配件缺货 runs at three times its rate.
    s0 = float((dt.date(2026, 3, 2) - ctx.start).days)
    if not 60 <= s0 <= H - 30:
        s0 = float(np.floor(H - 243))
    parts = cat == "配件缺货"
    inside = parts & (t >= s0) & (t < s0 + 14)
    around = parts & (t >= s0 - 90) & (t < s0 + 104) & ~inside
    # Top up so the window holds 3x the usual two-week count, whatever the baseline draw was.
    n_extra = max(0, round(3.0 * int(around.sum()) / 180 * 14) - int(inside.sum()))
    te = _on_day(rng, s0 + np.floor(rng.random(n_extra) * 14), COMPLAINT_PROFILE)
    trig_e = trigger(te, parts_ok.astype(float))
    te, trig_e = te[trig_e >= 0], trig_e[trig_e >= 0]
    spike = np.r_[np.zeros(len(t), bool), np.ones(len(te), bool)]
    t = np.r_[t, te]
    trig = np.r_[trig, trig_e]
    cat = np.r_[cat, np.full(len(te), "配件缺货")]
    n = len(t)

    channel = _pick(rng, n, ("电话", "微信", "到店", "12315"), (0.45, 0.3, 0.2, 0.05))
    hot = channel == "12315"  # going to the regulator means it is already serious
    sev = np.where(
        hot,
        _pick(rng, n, ("高", "中", "低"), (0.5, 0.4, 0.1)),
        _pick(rng, n, ("高", "中", "低"), (0.15, 0.5, 0.35)),
    )
    sev = np.where(spike & (sev == "低"), "中", sev)
    handler = rng.integers(0, len(SERVICE_DESK), n)
    # Some agents are just slower; scaled to mean 1 so the desk as a whole keeps its SLA level.
    speed = rng.uniform(0.75, 1.4, len(SERVICE_DESK))
    speed = (speed / speed.mean())[handler]
    sev_i = pd.Series(sev).map({"高": 0, "中": 1, "低": 2}).to_numpy()
    acc_med = np.array([0.5, 1.5, 3.0])[sev_i]  # hours; urgent cases jump the queue
    res_med = np.array([14.0, 20.5, 25.0])[sev_i]
    # Lognormal stage delays with a fat tail: most close in a day or two, some drag for a week+.
    accepted = _business(rng, t + rng.lognormal(np.log(acc_med), 0.9) * speed / 24)
    res_h = rng.lognormal(np.log(res_med), 0.5, n) * speed
    res_h *= np.where(rng.random(n) < 0.05, rng.uniform(2.5, 8, n), 1.0)
    res_h *= np.where(spike, rng.uniform(1.5, 3.5, n), 1.0)  # waiting for the parts to arrive
    handled = _business(rng, accepted + res_h / 24)
    feedback = _business(rng, handled + rng.lognormal(np.log(4), 0.8, n) / 24)
    closed = _business(rng, feedback + rng.lognormal(np.log(20), 0.8, n) / 24)
    accepted, handled, feedback, closed = (
        _minute(x) for x in (accepted, handled, feedback, closed)
    )
    t = _minute(t)
    # Anything past the export date has not happened yet.
    accepted = np.where(accepted < H, accepted, np.nan)
    handled = np.where((handled < H) & ~np.isnan(accepted), handled, np.nan)
    feedback = np.where((feedback < H) & ~np.isnan(handled), feedback, np.nan)
    closed = np.where((closed < H) & ~np.isnan(feedback), closed, np.nan)
    is_closed = ~np.isnan(closed)
    status = np.where(is_closed, "已结案", np.where(np.isnan(accepted), "待受理", "处理中"))
    # Agents sometimes close a ticket without logging the callback step.
    feedback = np.where(is_closed & (rng.random(n) < 0.03), np.nan, feedback)

    hours = (np.where(np.isnan(handled), H, handled) - t) * 24
    breach = hours > SLA_HOURS
    comp_p = np.where(
        np.isin(cat, ("维修质量", "交车延迟", "价格争议", "保险理赔")),
        np.where(sev == "高", 0.5, 0.2),
        0.03,
    )
    has_comp = is_closed & (rng.random(n) < comp_p)
    comp = np.where(
        has_comp, np.round(np.clip(rng.lognormal(np.log(600), 0.8, n), 100, 20000), -1), 0.0
    )
    comp = np.where(is_closed, comp, np.nan)
    # Slow fixes sour the score; money and a low-stakes issue soften it.
    sat = (
        4.4
        - 0.8 * np.log(np.clip((handled - t), 0.25, None))
        - np.array([0.5, 0.2, 0.0])[sev_i]
        + 0.4 * has_comp
        + rng.normal(0, 0.7, n)
    )
    sat = np.clip(np.round(sat), 1, 5)
    sat = np.where(is_closed & (rng.random(n) < 0.9), sat, np.nan)

    cust = o_c[trig].astype(float)
    # Anonymous hotline and regulator cases often cannot be tied to a customer file.
    cust = np.where(rng.random(n) < np.where(hot, 0.3, 0.012), np.nan, cust)
    df = pd.DataFrame(
        {
            "t": t,
            "cust": cust,
            "cat": cat,
            "channel": channel,
            "severity": sev,
            "handler": np.asarray(SERVICE_DESK)[handler],
            "accepted": accepted,
            "handled": handled,
            "feedback": feedback,
            "closed": closed,
            "satisfaction": sat,
            "compensation": comp,
            "status": status,
            "breach": breach,
            "spike": spike,
        }
    )
    return df.sort_values(["t", "cat"], kind="mergesort").reset_index(drop=True)


def _leave_after_complaints(ctx: _Ctx, cu: _Customers, comp: pd.DataFrame) -> np.ndarray:
    """A blown SLA sends customers to the dealer down the road far more often than a quick fix."""
    rng = ctx.rng
    leave = np.full(cu.n, np.inf)
    has = comp["cust"].notna().to_numpy()
    c = comp["cust"].to_numpy()[has].astype(int)
    p = np.where(comp["breach"].to_numpy()[has], 0.45, 0.08)
    go = rng.random(len(c)) < p
    when = comp["t"].to_numpy()[has] + rng.uniform(0, 10, len(c))
    np.minimum.at(leave, c[go], when[go])
    return leave
