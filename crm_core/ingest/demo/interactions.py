"""Follow-ups: handover calls, lead follow-ups, service reminders and complaint callbacks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import FOLLOW_UP_DAYS, GRADES, NEW, OWNERS, SERVICE_ADVISORS, SVC
from crm_core.ingest.demo.customers import _Customers
from crm_core.ingest.demo.draw import (
    CALL_PROFILE,
    STORE_PROFILE,
    _business,
    _Ctx,
    _ids,
    _minute,
    _on_day,
    _pick,
    _tod,
)


def _interactions(
    ctx: _Ctx,
    cu: _Customers,
    created: np.ndarray,
    orders: pd.DataFrame,
    comp: pd.DataFrame,
    leads: pd.DataFrame,
) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    # A few consultants are sloppy: late handover calls, thin lead follow-up.
    lax = np.zeros(len(OWNERS), dtype=bool)
    lax[rng.choice(len(OWNERS), size=4, replace=False)] = True
    discipline = np.where(
        lax, rng.uniform(1.8, 2.6, len(OWNERS)), rng.uniform(0.85, 1.2, len(OWNERS))
    )
    parts: list[pd.DataFrame] = []

    def add(
        cust: np.ndarray,
        t: np.ndarray,
        kind: np.ndarray | str,
        who: np.ndarray | str,
        outcome: np.ndarray | str,
        purpose: str,
        lead: np.ndarray | str = "",
    ) -> None:
        k = len(t)
        parts.append(
            pd.DataFrame(
                {
                    "cust": np.asarray(cust, dtype=float),
                    "t": np.asarray(t, dtype=float),
                    "kind": np.broadcast_to(np.asarray(kind, dtype=object), k),
                    "who": np.broadcast_to(np.asarray(who, dtype=object), k),
                    "outcome": np.broadcast_to(np.asarray(outcome, dtype=object), k),
                    "purpose": purpose,
                    "lead": np.broadcast_to(np.asarray(lead, dtype=object), k),
                }
            )
        )

    res3 = ("成功", "未接通", "再次跟进")
    # 交车回访: the house rule is a call within 24 h; lax owners slip to 1-3 days or forget.
    cars = orders[(orders["cat"] == NEW) & (orders["status"] != "退货")]
    c = cars["cust"].to_numpy()
    o = cu.owner[c]
    u = rng.random(len(c))
    p_in, p_late = np.where(lax[o], 0.55, 0.88), np.where(lax[o], 0.30, 0.09)
    keep = u < p_in + p_late
    handover = cars["t"].to_numpy()
    day, tod = np.floor(handover), handover - np.floor(handover)
    # On time = next working morning/afternoon, before the hour of the handover (< 24 h).
    soon = day + 1 + rng.uniform(9 / 24, np.clip(tod, 9.25 / 24, 20.5 / 24))
    # Late = a day or two later at any office hour, forced into the 24-72 h band.
    late = day + rng.integers(1, 3, len(c)) + _tod(rng, len(c), *CALL_PROFILE)
    late = np.where(late - handover <= 1, late + 1, late)
    t = np.where(u < p_in, soon, late)
    kind = np.where(
        cu.fleet[c] & (rng.random(len(c)) < 0.3),
        "上门",
        _pick(rng, len(c), ("电话", "微信"), (0.9, 0.1)),
    )
    add(
        c[keep],
        t[keep],
        kind[keep],
        np.asarray(OWNERS)[o][keep],
        _pick(rng, len(c), res3, (0.75, 0.2, 0.05))[keep],
        "交车回访",
    )

    # 保养提醒 before a visit, and repeated reminders to customers overdue against their rhythm.
    svc = orders[(orders["cat"] == SVC) & (orders["status"] != "退货")]
    sc, st = svc["cust"].to_numpy(), svc["t"].to_numpy()
    ok = rng.random(len(sc)) < 0.6
    tr = _business(
        rng,
        np.floor(st[ok] - rng.uniform(2, 10, int(ok.sum())))
        + _tod(rng, int(ok.sum()), *STORE_PROFILE),
        9,
        20,
    )
    k = int(ok.sum())
    add(
        sc[ok],
        tr,
        _pick(rng, k, ("电话", "微信", "短信"), (0.6, 0.25, 0.15)),
        _pick(rng, k, SERVICE_ADVISORS, np.ones(len(SERVICE_ADVISORS))),
        _pick(rng, k, res3, (0.7, 0.2, 0.1)),
        "保养提醒",
    )
    last = svc.groupby("cust")["t"].max()
    lc, lt = last.index.to_numpy(), last.to_numpy()
    due = lt + cu.rhythm[lc]
    for j in range(3):
        tj = due + 7 + 30 * j + rng.uniform(-3, 3, len(lc))
        ok = tj < H
        k = int(ok.sum())
        add(
            lc[ok],
            _on_day(rng, tj[ok], STORE_PROFILE),
            _pick(rng, k, ("电话", "微信", "短信"), (0.6, 0.25, 0.15)),
            _pick(rng, k, SERVICE_ADVISORS, np.ones(len(SERVICE_ADVISORS))),
            _pick(rng, k, res3, (0.15, 0.5, 0.35)),
            "保养提醒",
        )

    # 线索跟进: cadence by grade, stretched by the owner's discipline, until the lead ends.
    lg = leads["grade"].map({g: i for i, g in enumerate(GRADES)}).to_numpy()
    lo = leads["owner"].to_numpy().astype(int)
    disc = discipline[lo]
    n_l = len(leads)
    first = (
        leads["created"].to_numpy()
        + rng.lognormal(np.log(np.array([0.5, 2.0, 6.0, 20.0])[lg]), 0.8) * disc / 24
    )
    steps = rng.gamma(4, 0.25, (n_l, 40)) * (FOLLOW_UP_DAYS[lg] * disc)[:, None]
    steps[:, 0] = 0
    times = first[:, None] + steps.cumsum(axis=1)
    until = np.minimum(leads["follow_until"].to_numpy(), H)[:, None]
    mask = (times < until) | (np.arange(40)[None, :] == 0) & (times < H)
    li, _ = np.nonzero(mask)
    step = np.broadcast_to(np.arange(40), times.shape)[mask]
    tl = times[mask]
    # Only the first touch races the clock; later ones land at normal calling hours.
    tl = np.where(step == 0, _business(rng, tl, 9, 21), _on_day(rng, tl, CALL_PROFILE))
    k = len(li)
    lead_ids = _ids("L", 6, n_l)
    lcust = leads["cust"].to_numpy()[li]
    add(
        np.where(lcust >= 0, lcust, np.nan),
        tl,
        _pick(rng, k, ("电话", "微信", "到店", "短信"), (0.6, 0.28, 0.08, 0.04)),
        np.asarray(OWNERS)[lo[li]],
        _pick(rng, k, res3, (0.55, 0.25, 0.2)),
        "线索跟进",
        lead_ids[li],
    )

    # 投诉回访: the desk calls back after closing a case.
    cl = comp[comp["closed"].notna() & comp["cust"].notna()]
    ok = rng.random(len(cl)) < 0.75
    k = int(ok.sum())
    add(
        cl["cust"].to_numpy()[ok],
        _on_day(rng, cl["closed"].to_numpy()[ok] + rng.uniform(1, 5, k), CALL_PROFILE),
        _pick(rng, k, ("电话", "微信"), (0.8, 0.2)),
        cl["handler"].to_numpy()[ok],
        _pick(rng, k, res3, (0.7, 0.2, 0.1)),
        "投诉回访",
    )

    # 生日关怀: scheduled morning messages to private customers still on the books.
    ind = np.flatnonzero(cu.ctype == "个人")
    bday = rng.integers(0, 365, len(ind))
    y0 = ctx.start.year
    for y in range(y0, y0 + 4):
        tb = (dt.date(y, 1, 1) - ctx.start).days + bday + _tod(rng, len(ind), 9, (6, 3))
        ok = (
            (tb >= created[ind])
            & (tb < H)
            & (tb < cu.active_until[ind] + 180)
            & (rng.random(len(ind)) < 0.5)
        )
        k = int(ok.sum())
        add(
            ind[ok],
            tb[ok],
            _pick(rng, k, ("短信", "微信", "电话"), (0.55, 0.4, 0.05)),
            np.asarray(OWNERS)[cu.owner[ind[ok]]],
            _pick(rng, k, res3, (0.9, 0.08, 0.02)),
            "生日关怀",
        )

    df = pd.concat(parts, ignore_index=True)
    df["t"] = _minute(df["t"].to_numpy())
    cust = df["cust"].to_numpy()
    known = ~np.isnan(cust)
    after = np.ones(len(df), dtype=bool)
    after[known] = df["t"].to_numpy()[known] >= created[cust[known].astype(int)]
    df = df[(df["t"] < H) & after]
    return df.sort_values(["t", "purpose", "lead", "cust"], kind="mergesort").reset_index(drop=True)
