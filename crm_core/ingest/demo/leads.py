"""Sales leads: won leads before real car purchases, lost and open ones by grade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import A_NEW, GRADES, N_LEADS, OWNERS, SOURCES, STAGES, VEHICLES
from crm_core.ingest.demo.customers import _Customers
from crm_core.ingest.demo.draw import LEAD_PROFILE, _arrival_days, _Ctx, _minute, _pick, _tod


def _leads(ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    rng, H = ctx.rng, ctx.horizon
    # Won leads are the pre-history of real car buyers, so the funnel and the orders agree.
    elig = np.flatnonzero((cu.arche == A_NEW) & (cu.t0 >= 10))
    src_w = {
        "网络线索": 1.0,
        "车展": 0.9,
        "电话营销": 0.7,
        "二手车置换": 0.5,
        "展厅到店": 0.45,
        "老客户推荐": 0.3,
    }
    w = np.array([src_w[s] for s in cu.source[elig]])
    n_won = round(N_LEADS * 0.205)
    won_c = np.sort(rng.choice(elig, size=n_won, replace=False, p=w / w.sum()))
    g_won = _pick(rng, n_won, np.arange(4), (0.35, 0.40, 0.20, 0.05))
    d_won = rng.lognormal(np.log(np.array([6.0, 14.0, 24.0, 35.0])[g_won]), 0.7)
    won_close = _minute(cu.t0[won_c] - rng.uniform(0, 120, n_won) / 1440)
    won_created = _minute(np.floor(won_close - d_won) + _tod(rng, n_won, *LEAD_PROFILE))
    won_created = np.minimum(won_created, won_close - 1 / 24)

    # Lost and open leads: H leads rarely die, C leads mostly do (grade mix differs by outcome).
    m = N_LEADS - n_won
    g = _pick(rng, m, np.arange(4), (0.06, 0.25, 0.39, 0.30))
    created = _minute(_arrival_days(ctx, m, growth=0.15) + _tod(rng, m, *LEAD_PROFILE))
    d_loss = rng.lognormal(np.log(np.array([10.0, 18.0, 28.0, 40.0])[g]), 0.8)
    closed = created + d_loss
    stuck = rng.random(m) < 0.05  # zombie leads nobody ever closed
    open_ = stuck | (closed >= H)
    last = np.where(stuck, created + d_loss * rng.uniform(0.2, 0.8, m), np.minimum(closed, H))
    last = np.minimum(last, H - 1 / 1440)
    age = last - created
    progress = np.clip(age / d_loss, 0, 1) * np.array([1.3, 1.1, 0.9, 0.7])[g]
    st_i = np.clip(np.floor(progress * 4 * rng.uniform(0.5, 1.2, m)), 0, 3).astype(int)
    stage = np.where(open_, np.asarray(STAGES)[st_i], "战败")
    changed = np.where(
        open_, np.where(st_i == 0, created, created + age * rng.uniform(0.3, 1, m)), closed
    )
    owner_w = rng.uniform(0.6, 1.6, len(OWNERS))
    vw = np.array([v[4] for v in VEHICLES])
    model = _pick(rng, m, np.arange(len(VEHICLES)), vw)
    mid = np.array([(v[2] + v[3]) / 2 for v in VEHICLES])
    fleet_lead = rng.random(m) < 0.05
    qty = np.where(fleet_lead, rng.integers(2, 13, m), 1)
    amount = np.round(mid[model] * rng.uniform(0.92, 1.05, m) * qty, -2)

    df = pd.DataFrame(
        {
            "created": np.r_[won_created, created],
            "stage": np.r_[np.full(n_won, "成交"), stage],
            "source": np.r_[
                cu.source[won_c], _pick(rng, m, SOURCES, (0.18, 0.5, 0.05, 0.1, 0.12, 0.05))
            ],
            "grade": np.asarray(GRADES)[np.r_[g_won, g]],
            "amount": np.r_[
                np.round(cu.first_amount[won_c] * rng.uniform(0.97, 1.05, n_won), -2), amount
            ],
            "owner": np.r_[cu.owner[won_c], _pick(rng, m, np.arange(len(OWNERS)), owner_w)],
            "model": np.r_[cu.first_model[won_c], model],
            "changed": _minute(np.r_[won_close, changed]),
            "closed": _minute(np.r_[won_close, np.where(open_, np.nan, closed)]),
            "outcome": np.r_[np.full(n_won, "赢单"), np.where(open_, "", "输单")],
            "cust": np.r_[won_c, np.full(m, -1)],
            "follow_until": _minute(np.r_[won_close, np.where(stuck, last, np.minimum(closed, H))]),
        }
    )
    return df.sort_values(["created", "cust"], kind="mergesort").reset_index(drop=True)
