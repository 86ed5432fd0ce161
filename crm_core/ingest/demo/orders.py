"""Order lines: cars, service, accessories, insurance and used cars over time, and returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import (
    A_NEW,
    A_PROSPECT,
    A_SERVICE,
    A_USED,
    ACC,
    ACCESSORIES,
    COST_RATIO,
    INS,
    NEW,
    SERVICES,
    SVC,
    USED,
    VEHICLES,
)
from crm_core.ingest.demo.customers import _Customers
from crm_core.ingest.demo.draw import (
    LEAD_PROFILE,
    STORE_PROFILE,
    _choice_rows,
    _Ctx,
    _draw,
    _minute,
    _on_day,
    _pick,
    _tod,
)


class _OrderLines:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        cust: np.ndarray,
        t: np.ndarray,
        cat: str,
        product: np.ndarray | str,
        amount: np.ndarray,
        qty: np.ndarray,
        channel: np.ndarray | str,
    ) -> None:
        n = len(cust)
        self.parts.append(
            {
                "cust": np.asarray(cust, dtype=int),
                "t": np.asarray(t, dtype=float),
                "cat": np.full(n, cat, dtype=object),
                "product": np.broadcast_to(np.asarray(product, dtype=object), n).copy(),
                "amount": np.asarray(amount, dtype=float),
                "qty": np.asarray(qty, dtype=float),
                "channel": np.broadcast_to(np.asarray(channel, dtype=object), n).copy(),
            }
        )

    def frame(self) -> pd.DataFrame:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        return pd.DataFrame(cols)


def _cars(ctx: _Ctx, cu: _Customers, cust: np.ndarray, qty: np.ndarray):
    rng = ctx.rng
    lows = np.array([v[2] for v in VEHICLES], dtype=float)
    highs = np.array([v[3] for v in VEHICLES], dtype=float)
    z = np.log(lows + highs)
    z = (z - z.mean()) / z.std()
    base = np.where(
        cu.fleet[cust][:, None],
        np.array([v[5] for v in VEHICLES]),
        np.array([v[4] for v in VEHICLES]),
    )
    model = _choice_rows(rng, base * np.exp(0.8 * cu.affluence[cust][:, None] * z))
    trim = rng.integers(0, 2, len(cust))
    product = np.array(
        [f"{VEHICLES[m][0]} {VEHICLES[m][1][k]}" for m, k in zip(model, trim, strict=True)]
    )
    # Dealers discount off list; big fleet deals get more off.
    disc = rng.uniform(0, 0.06, len(cust)) + np.where(qty > 3, 0.03, 0)
    unit = np.round(
        (lows[model] + rng.random(len(cust)) * (highs[model] - lows[model])) * (1 - disc), -2
    )
    return model, product, unit


def _orders(ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    rng, n, H = ctx.rng, cu.n, ctx.horizon
    lines = _OrderLines()
    limit = np.minimum(cu.active_until, H)

    def growth(c: np.ndarray, t: np.ndarray) -> np.ndarray:
        # Personal spend level, compounded by the customer's yearly trend since the first deal.
        return cu.level[c] * np.exp(cu.trend[c] * (t - cu.t0[c]) / 365.0)

    # New cars: the first deal, a second car for some private buyers, repeat fleet top-ups.
    first = np.flatnonzero(cu.arche == A_NEW)
    q_first = np.maximum(1, np.round(cu.fleet_size[first] * rng.uniform(0.4, 1.0, len(first))))
    second = first[~cu.fleet[first]]
    p2 = np.where(cu.trend[second] > 0.25, 0.25, 0.06)  # growers are who buy the second car
    t2 = cu.t0[second] + rng.uniform(180, 900, len(second))
    second_ok = (rng.random(len(second)) < p2) & (t2 < limit[second])
    car_c = [first, second[second_ok]]
    car_t = [cu.t0[first], _on_day(rng, t2[second_ok], STORE_PROFILE)]
    car_q = [q_first, np.ones(int(second_ok.sum()))]
    fl = first[cu.fleet[first]]
    t_prev = cu.t0[fl].copy()
    for _ in range(10):
        t_prev = t_prev + rng.uniform(150, 420, len(fl))
        ok = (t_prev < limit[fl]) & (rng.random(len(fl)) < 0.75)
        car_c.append(fl[ok])
        car_t.append(_on_day(rng, t_prev[ok], STORE_PROFILE))
        car_q.append(
            np.maximum(1, np.round(cu.fleet_size[fl[ok]] * rng.uniform(0.1, 0.5, int(ok.sum()))))
        )
    cc, ct, cq = np.concatenate(car_c), np.concatenate(car_t), np.concatenate(car_q)
    model, product, unit = _cars(ctx, cu, cc, cq)
    is_first = np.zeros(len(cc), dtype=bool)
    is_first[: len(first)] = True
    cu.first_model[first] = model[is_first]
    cu.first_amount[first] = (unit * cq)[is_first]
    channel = np.where(
        cu.fleet[cc], "大客户部", _pick(rng, len(cc), ("4S店", "线上商城"), (0.97, 0.03))
    )
    lines.add(cc, ct, NEW, product, unit * cq, cq, channel)

    def insure(
        c: np.ndarray,
        t: np.ndarray,
        q: np.ndarray,
        premium: np.ndarray,
        tag: str,
        channel: np.ndarray,
    ) -> None:
        # 交强险 (flat statutory rate) and 商业险 are separate policies, so separate lines.
        lines.add(c, t, INS, f"交强险{tag}", 950.0 * q, q, channel)
        lines.add(c, t + 3 / 1440, INS, f"商业险{tag}", np.round(premium * q, 2), q, channel)

    # First-year insurance is sold at handover; renewals on the anniversary if still with us.
    ins = rng.random(len(cc)) < np.where(cu.fleet[cc], 0.85, 0.72)
    ic, it, iq = cc[ins], ct[ins] + rng.uniform(5, 60, int(ins.sum())) / 1440, cq[ins]
    prem = np.clip(unit[ins] * rng.uniform(0.02, 0.032, len(ic)), 1800, 13000)
    insure(ic, it, iq, prem, "(首年)", np.where(cu.fleet[ic], "大客户部", "4S店"))
    p_renew = np.where(cu.trend[ic] > 0.25, 0.85, np.where(cu.trend[ic] < -0.25, 0.35, 0.65))
    for k in (1, 2, 3):
        tk = it + 365 * k - rng.uniform(0, 25, len(ic))
        ok = (tk < limit[ic]) & (rng.random(len(ic)) < p_renew)
        amt = prem[ok] * 0.92**k * rng.uniform(0.96, 1.04, int(ok.sum()))
        ch = np.where(
            cu.fleet[ic[ok]],
            "大客户部",
            _pick(rng, int(ok.sum()), ("4S店", "线上商城"), (0.65, 0.35)),
        )
        insure(ic[ok], _on_day(rng, tk[ok], STORE_PROFILE), iq[ok], amt, "续保", ch)
    # Service-only customers (car bought elsewhere) sometimes move their policy to us.
    so = np.flatnonzero((cu.arche == A_SERVICE) & (rng.random(n) < 0.3))
    t_ren = cu.t0[so] + rng.uniform(20, 365, len(so))
    prem_so = rng.uniform(2000, 8000, len(so))
    for k in range(3):
        tk = t_ren + 365 * k
        ok = tk < limit[so]
        k_ok = int(ok.sum())
        insure(
            so[ok],
            _on_day(rng, tk[ok], STORE_PROFILE),
            np.ones(k_ok),
            prem_so[ok] * 0.95**k,
            "续保",
            _pick(rng, k_ok, ("4S店", "线上商城"), (0.6, 0.4)),
        )

    # Accessories are mostly an add-on to the handover (film, mats, dashcam).
    for p_acc in (np.where(cu.fleet[cc], 0.25, 0.58), np.where(cu.fleet[cc], 0.05, 0.25)):
        ok = rng.random(len(cc)) < p_acc
        k = int(ok.sum())
        name, price = _draw(rng, k, ACCESSORIES)
        c = cc[ok]
        amt = np.round(price * cu.level[c], 0)
        later = rng.random(k) < 0.4
        ta = np.where(
            later,
            _on_day(rng, ct[ok] + rng.uniform(1, 6, k), STORE_PROFILE),
            ct[ok] + rng.uniform(10, 90, k) / 1440,
        )
        keep = ta < H
        lines.add(
            c[keep],
            ta[keep],
            ACC,
            name[keep],
            amt[keep],
            np.ones(int(keep.sum())),
            np.where(cu.fleet[c[keep]], "大客户部", "4S店"),
        )

    # Used cars: a cheaper first deal, then the same service life as anyone else.
    uc = np.flatnonzero(cu.arche == A_USED)
    price = np.round(np.clip(rng.lognormal(np.log(80_000), 0.45, len(uc)), 30_000, 220_000), -2)
    year = rng.integers(2016, 2023, len(uc))
    um = rng.integers(0, len(VEHICLES) - 2, len(uc))
    prod = np.array([f"二手车 {VEHICLES[m][0]} {y}款" for m, y in zip(um, year, strict=True)])
    lines.add(uc, cu.t0[uc], USED, prod, price, np.ones(len(uc)), "4S店")
    ui = uc[rng.random(len(uc)) < 0.5]
    insure(
        ui,
        cu.t0[ui] + 20 / 1440,
        np.ones(len(ui)),
        rng.uniform(1800, 5000, len(ui)),
        "(过户首年)",
        np.full(len(ui), "4S店"),
    )

    # Service visits: personal rhythm with gamma jitter; first service (首保) 2-7 months in.
    buyers = np.flatnonzero(cu.arche != A_PROSPECT)
    t = np.where(
        cu.arche[buyers] == A_SERVICE,
        cu.t0[buyers],
        cu.t0[buyers]
        + cu.rhythm[buyers] * np.sqrt(cu.fleet_size[buyers]) * rng.uniform(0.5, 0.9, len(buyers)),
    )
    mult = np.ones(len(buyers))
    vis_c, vis_t, vis_k = [], [], []
    for k in range(60):
        ok = t < limit[buyers]
        if not ok.any():
            break
        vis_c.append(buyers[ok])
        vis_t.append(t[ok])
        vis_k.append(np.full(int(ok.sum()), k))
        mult = np.where(cu.slowing[buyers] & (t > cu.slow_start[buyers]), mult * 1.6, mult)
        t = t + cu.rhythm[buyers] * rng.gamma(8, 1 / 8, len(buyers)) * mult
    vc, vk = np.concatenate(vis_c), np.concatenate(vis_k)
    vt = np.concatenate(vis_t)
    vt = np.where((vk == 0) & (cu.arche[vc] == A_SERVICE), vt, _on_day(rng, vt, STORE_PROFILE))
    name, price = _draw(rng, len(vc), SERVICES)
    # The first service of a new car (首保) is a cheap fixed-menu job.
    shoubao = (vk == 0) & (cu.arche[vc] == A_NEW) & ~cu.fleet[vc]
    price = np.where(shoubao, rng.uniform(300, 600, len(vc)), price)
    name[shoubao] = "首次保养"
    amt = price * growth(vc, vt)
    amt = np.round(np.clip(amt * np.where(cu.fleet[vc], 1.4, 1.0), 300, 6000), 2)
    lines.add(
        vc,
        vt,
        SVC,
        name,
        amt,
        np.ones(len(vc)),
        _pick(rng, len(vc), ("4S店", "线上商城"), (0.97, 0.03)),
    )
    # Unscheduled repairs (scrapes, flats, dead batteries) arrive at random, off the rhythm.
    repairs = np.array([3, 4, 5, 6, 7])
    t = cu.t0[buyers].copy()
    rate = 0.25 * np.sqrt(cu.fleet_size[buyers]) / 365
    for _ in range(12):
        t = t + rng.exponential(1 / rate)
        ok = t < limit[buyers]
        c, k = buyers[ok], int(ok.sum())
        name, price = _draw(rng, k, SERVICES, repairs)
        tt = _on_day(rng, t[ok], STORE_PROFILE)
        lines.add(
            c,
            tt,
            SVC,
            name,
            np.round(np.clip(price * growth(c, tt), 300, 6000), 2),
            np.ones(k),
            "4S店",
        )
    # Growers also pick up accessories while the car is in the workshop.
    ok = rng.random(len(vc)) < np.where(cu.trend[vc] > 0.25, 0.16, 0.08)
    k = int(ok.sum())
    name, price = _draw(rng, k, ACCESSORIES)
    online = rng.random(k) < 0.4
    ta = np.where(online, vt[ok] + rng.uniform(1, 30, k), vt[ok] + rng.uniform(5, 40, k) / 1440)
    ta = np.where(online, np.floor(ta) + _tod(rng, k, *LEAD_PROFILE), ta)
    keep = ta < limit[vc[ok]]
    c = vc[ok]
    amt = np.round(price * growth(c, ta), 0)
    lines.add(
        c[keep],
        ta[keep],
        ACC,
        name[keep],
        amt[keep],
        np.ones(int(keep.sum())),
        np.where(online, "线上商城", "4S店")[keep],
    )

    # Some customers also shop the online mall now and then (car-care, gadgets).
    shop = buyers[rng.random(len(buyers)) < 0.4]
    t = cu.t0[shop] + 20
    for _ in range(8):
        t = t + rng.exponential(365 / 0.8, len(shop))
        ok = t < limit[shop]
        c, k = shop[ok], int(ok.sum())
        name, price = _draw(rng, k, ACCESSORIES)
        tt = np.floor(t[ok]) + _tod(rng, k, *LEAD_PROFILE)
        lines.add(
            c,
            tt,
            ACC,
            name,
            np.round(price * growth(c, tt), 0),
            np.ones(k),
            "线上商城",
        )

    df = lines.frame()
    df = df[df["t"] < H].copy()
    df["t"] = _minute(df["t"].to_numpy())
    lo_r, hi_r = np.array([COST_RATIO[c] for c in df["cat"]]).T
    df["cost"] = np.round(df["amount"].to_numpy() * rng.uniform(lo_r, hi_r), 2)
    df = df.sort_values(["t", "cust", "cat", "product"], kind="mergesort").reset_index(drop=True)
    return df


def _returns(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    """~2% of lines are returns: mostly accessories and cancelled policies, almost never a car."""
    rng, H = ctx.rng, ctx.horizon
    w = orders["cat"].map({ACC: 10.0, INS: 2.5, SVC: 0.8, USED: 0.5, NEW: 0.12}).to_numpy()
    w = w * (orders["t"].to_numpy() < H - 2)
    k = round(0.02 * len(orders) / 0.98)
    idx = np.sort(rng.choice(len(orders), size=k, replace=False, p=w / w.sum()))
    ret = orders.iloc[idx].copy()
    t0 = ret["t"].to_numpy()
    tr = t0 + rng.lognormal(np.log(6), 0.8, k)
    tr = np.where(tr < H, tr, t0 + (H - t0) * rng.uniform(0.3, 0.9, k))
    ret["t"] = _minute(np.maximum(_on_day(rng, tr, STORE_PROFILE), t0 + 1 / 24))
    ret = ret[ret["t"] < H]
    for col in ("amount", "qty", "cost"):
        ret[col] = -ret[col]
    ret["status"] = "退货"
    orders = orders.assign(status="已完成")
    out = pd.concat([orders, ret], ignore_index=True)
    return out.sort_values(["t", "cust", "cat", "status"], kind="mergesort").reset_index(drop=True)
