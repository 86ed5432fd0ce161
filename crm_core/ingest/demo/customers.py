"""The customer population: types, regions, owners, sources, churn and spend level, names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_core.ingest.demo.company import (
    A_NEW,
    A_PROSPECT,
    A_SERVICE,
    A_USED,
    CITIES,
    FIRM_TRADES,
    FIRM_WORDS,
    GIVEN,
    GOV_BODIES,
    GOV_DISTRICTS,
    N_CUSTOMERS,
    OWNER_REGION,
    OWNERS,
    REGION_P,
    REGIONS,
    SOURCE_P,
    SOURCES,
    SURNAMES,
)
from crm_core.ingest.demo.draw import STORE_PROFILE, _arrival_days, _Ctx, _on_day, _pick


@dataclass
class _Customers:
    n: int
    arche: np.ndarray
    fleet: np.ndarray
    fleet_size: np.ndarray
    ctype: np.ndarray
    region: np.ndarray
    owner: np.ndarray  # index into OWNERS
    source: np.ndarray
    t0: np.ndarray  # first deal (or first contact for prospects)
    active_until: np.ndarray
    rhythm: np.ndarray
    slowing: np.ndarray
    slow_start: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    affluence: np.ndarray
    first_model: np.ndarray
    first_amount: np.ndarray


def _customers(ctx: _Ctx) -> _Customers:
    rng, n = ctx.rng, N_CUSTOMERS
    ctype = _pick(rng, n, ("个人", "企业", "政府机构"), (0.9, 0.075, 0.025))
    fleet = ctype != "个人"
    # Fleet size is Pareto: a handful of big accounts (rental firms, a city bureau) dominate revenue.
    fleet_size = np.where(fleet, np.minimum(1 + np.floor(rng.pareto(1.1, n) * 3), 40), 1)
    arche = np.where(fleet, A_NEW, _pick(rng, n, (A_NEW, A_USED, A_SERVICE), (0.7, 0.08, 0.22)))
    # ~8% are prospects who were registered but never bought: funnels have a leaky bottom.
    arche = np.where(rng.random(n) < 0.08, A_PROSPECT, arche)
    region = _pick(rng, n, np.arange(len(REGIONS)), REGION_P)
    # Consultants carry unequal books, so owner dashboards have something to compare.
    owner_w = rng.uniform(0.6, 1.6, len(OWNERS))
    owner = np.empty(n, dtype=int)
    for r in range(len(REGIONS)):
        rows = np.flatnonzero(region == r)
        cand = np.flatnonzero(np.equal(OWNER_REGION, r))
        owner[rows] = _pick(rng, len(rows), cand, owner_w[cand])
    source = np.empty(n, dtype=object)
    groups = {
        A_PROSPECT: arche == A_PROSPECT,
        "fleet": fleet & (arche != A_PROSPECT),
        A_NEW: (arche == A_NEW) & ~fleet,
        A_USED: arche == A_USED,
        A_SERVICE: arche == A_SERVICE,
    }
    for key, rows in groups.items():
        source[rows] = _pick(rng, int(rows.sum()), SOURCES, SOURCE_P[key])
    t0 = _on_day(rng, _arrival_days(ctx, n, growth=0.12), STORE_PROFILE)

    # Churn comes in three shapes: gone after the first deal, gone in year one, gone after years.
    referred = source == "老客户推荐"  # referred customers come with trust and stay longer
    u = rng.random(n)
    p_early = np.where(referred, 0.09, 0.17)
    p_year1 = np.where(referred, 0.08, 0.14)
    active_until = np.where(
        u < p_early,
        t0 + 1.0,
        np.where(
            u < p_early + p_year1,
            t0 + rng.uniform(60, 365, n),
            t0 + 365 + rng.exponential(4 * 365, n),
        ),
    )
    # Each customer keeps a personal service rhythm; fleets bring several cars so come more often.
    rhythm = rng.uniform(120, 240, n) / np.sqrt(fleet_size)
    rhythm = np.maximum(rhythm, 25)
    # Slowing customers stretch their gaps from some recent point on: overdue, not yet gone.
    slowing = (rng.random(n) < 0.14) & (u >= p_early + p_year1)
    slow_start = ctx.horizon - rng.uniform(120, 480, n)
    # Spend level is lognormal; a trend makes some customers grow and others fade year over year.
    level = rng.lognormal(0, 0.35, n)
    kind = rng.random(n)
    trend = np.where(
        kind < 0.15,
        rng.uniform(0.3, 0.6, n),
        np.where(kind < 0.3, rng.uniform(-0.6, -0.3, n), rng.normal(0, 0.08, n)),
    )
    return _Customers(
        n=n,
        arche=arche,
        fleet=fleet,
        fleet_size=fleet_size,
        ctype=ctype,
        region=region,
        owner=owner,
        source=source,
        t0=t0,
        active_until=active_until,
        rhythm=rhythm,
        slowing=slowing,
        slow_start=slow_start,
        level=level,
        trend=trend,
        affluence=rng.normal(0, 1, n),
        first_model=np.full(n, -1),
        first_amount=np.zeros(n),
    )


def _names(ctx: _Ctx, cu: _Customers) -> np.ndarray:
    rng, n = ctx.rng, cu.n
    rank = np.arange(len(SURNAMES))
    sur = _pick(rng, n, np.array(list(SURNAMES)), 1 / (rank + 4))  # a few surnames dominate
    g = np.array(list(GIVEN))
    g1, g2 = g[rng.integers(0, len(g), n)], g[rng.integers(0, len(g), n)]
    two = rng.random(n) < 0.65
    person = np.char.add(sur.astype(str), np.where(two, np.char.add(g1, g2), g1))
    city = np.array(
        [
            CITIES[REGIONS[r]][i % len(CITIES[REGIONS[r]])]
            for r, i in zip(cu.region, rng.integers(0, 100, n), strict=True)
        ]
    )
    w = np.array(list(FIRM_WORDS))
    firm = np.char.add(w[rng.integers(0, len(w), n)], w[rng.integers(0, len(w), n)])
    trade = np.asarray(FIRM_TRADES)[rng.integers(0, len(FIRM_TRADES), n)]
    suffix = np.where(rng.random(n) < 0.1, "股份有限公司", "有限公司")
    company = np.char.add(np.char.add(np.char.add(city, firm), trade), suffix)
    gov = np.char.add(
        np.char.add(city, np.asarray(GOV_DISTRICTS)[rng.integers(0, 8, n)]),
        np.char.add("区", np.asarray(GOV_BODIES)[rng.integers(0, 8, n)]),
    )
    return np.where(cu.ctype == "企业", company, np.where(cu.ctype == "政府机构", gov, person))
