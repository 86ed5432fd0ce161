"""Why did it change: a metric's change between a period and the one before, split exactly into
factor effects (LMDI) and into contributions by region, source, owner, category and value tier.

Rules (docs/metrics.md, "Why did it change"):
* The totals are the Overview tiles' (overview.kpi_deltas): net revenue, active customers (net
  spend > 0), orders (distinct non-return orders), complaints received.
* Components. revenue = customers x orders per customer x average order value, orders =
  customers x orders per customer, complaints = customers x complaints per customer (customers =
  active customers), each split with LMDI-I: effect_x = L(V1, V0) * ln(x1 / x0), L(a, b) =
  (a - b) / (ln a - ln b), L(a, a) = a. The effects sum exactly to V1 - V0; rounded to cents
  they may not, and `residual` holds the difference (components + residual == change). A factor
  that is 0 or negative in either period has no logarithm: the decomposition does not apply
  (`not_applicable` says which factor). Active customers = retained + gained - lost: components
  `gained` (active now, not before) and `lost` (-, active before, not now), residual 0.
* Contributors. Each counted row falls under exactly one value per dimension (blank: its own
  value), so each dimension's changes sum to the total change. Money is rounded to cents by
  largest remainder, so the rounded changes still sum to the rounded total exactly. Per
  dimension the `top` values by absolute change, the rest summed into "others" (left out when they did not change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from crm_core.engine import db
from crm_core.metrics import overview, value
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period

METRICS = ("revenue", "customers", "orders", "complaints")
# The overview.kpi_deltas row of each metric.
KPI_OF = {
    "revenue": "revenue",
    "customers": "active_customers",
    "orders": "orders",
    "complaints": "complaints",
}
DIMENSIONS = ("region", "source", "owner", "category", "tier")
TOP = 5  # values shown per dimension; the rest are summed into "others"
CENT = Decimal("0.01")
# Factors of each metric in product order: (name, numerator kpi, denominator kpi or None).
FACTORS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "revenue": (
        ("customers", "active_customers", None),
        ("orders_per_customer", "orders", "active_customers"),
        ("avg_order_value", "revenue", "orders"),
    ),
    "orders": (
        ("customers", "active_customers", None),
        ("orders_per_customer", "orders", "active_customers"),
    ),
    "complaints": (
        ("customers", "active_customers", None),
        ("complaints_per_customer", "complaints", "active_customers"),
    ),
}


@dataclass(frozen=True)
class Contributor:
    """One value's change: kind 'value', 'blank' (the cell was empty) or 'others' (the values
    after the top ones, summed)."""

    dimension: str
    value: str | None  # the raw value; a tier key for `tier`; None for blank and others
    kind: str
    change: Decimal


@dataclass(frozen=True)
class Explanation:
    """A metric's change between `previous_period` and `period`, decomposed."""

    metric: str
    period: Period
    previous_period: Period
    previous: Decimal
    current: Decimal
    change: Decimal
    components: dict[str, Decimal]
    residual: Decimal
    factor_changes: dict[str, Decimal | None]  # relative change of each factor (x1/x0 - 1)
    not_applicable: str | None  # the factor that is 0 or negative; None when components apply
    contributors: list[Contributor] = field(default_factory=list)

    @property
    def change_pct(self) -> Decimal | None:
        return self.change / self.previous if self.previous > 0 else None

    def by_dimension(self, dimension: str) -> list[Contributor]:
        return [c for c in self.contributors if c.dimension == dimension]

    def top_contributor(self) -> tuple[Contributor, Decimal] | None:
        """The region, source, owner or category value (not 'others') whose change is the
        largest share of the total change, in the same direction, with that share; None when
        nothing changed. Tiers are left out: a customer's tier is of the current period, so
        every customer who stopped buying is 'sleeping' by construction."""
        if self.change == 0:
            return None
        best = max(
            (
                c
                for c in self.contributors
                if c.kind != "others" and c.dimension != "tier" and c.change * self.change > 0
            ),
            key=lambda c: (abs(c.change), -DIMENSIONS.index(c.dimension)),
            default=None,
        )
        return (best, best.change / self.change) if best else None


def _dec(x: Any) -> Decimal:
    return Decimal(0) if x is None else Decimal(str(x))


def is_money(metric: str) -> bool:
    """Whether the metric is an amount of money (changes to the cent) rather than a count."""
    return metric == "revenue"


def _round(x: Decimal) -> Decimal:
    """To cents (money) or 2 decimals (a count's fractional effect); half to even."""
    return x.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _log_mean(a: Decimal, b: Decimal) -> Decimal:
    return a if a == b else (a - b) / (a.ln() - b.ln())


def lmdi(
    v0: Decimal, v1: Decimal, factors: dict[str, tuple[Decimal, Decimal]]
) -> dict[str, Decimal]:
    """LMDI-I effects of V = product of the factors (each (x0, x1), all > 0): effect_x =
    L(V1, V0) * ln(x1 / x0), unrounded (40 significant digits); they sum to V1 - V0."""
    with localcontext() as ctx:
        ctx.prec = 40
        w = _log_mean(v1, v0)
        return {k: w * (x1 / x0).ln() for k, (x0, x1) in factors.items()}


def apportion(values: list[Decimal], target: Decimal) -> list[Decimal]:
    """`values` rounded to cents so that they sum to `target` (a whole number of cents):
    largest remainder (round every value down, then give the missing cents to the largest
    remainders, ties to the earlier value)."""
    floors = [v.quantize(CENT, rounding=ROUND_FLOOR) for v in values]
    missing = int((target - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    out = list(floors)
    step = CENT if missing >= 0 else -CENT
    for k in range(abs(missing)):
        out[order[k % len(order)]] += step
    return out


def _contributors(rows: list[tuple], metric: str, change: Decimal, top: int) -> list[Contributor]:
    out: list[Contributor] = []
    for dim in DIMENSIONS:
        mine = [(v, _dec(cur) - _dec(prev)) for d, v, prev, cur in rows if d == dim]
        if not mine:
            continue
        if is_money(metric):
            changes = apportion([c for _, c in mine], change)
        else:
            changes = [c for _, c in mine]
        items = []
        for (v, _), c in zip(mine, changes, strict=True):
            if v is None or str(v).strip() == "":
                items.append(Contributor(dim, None, "blank", c))
            else:
                key = value.TIER_KEYS[int(v) - 1] if dim == "tier" else str(v)
                items.append(Contributor(dim, key, "value", c))
        items.sort(key=lambda c: (-abs(c.change), c.kind, c.value or ""))
        shown = [c for c in items[:top] if c.change != 0]
        rest = items[len(shown) :]
        out += shown
        if any(c.change != 0 for c in rest):  # "others 0" would be noise
            out.append(Contributor(dim, None, "others", sum((c.change for c in rest), Decimal(0))))
    return out


def _totals(con: db.Connection, period: Period, filters: Filters) -> dict[str, tuple]:
    """(previous, current) of each Overview tile, as Decimals."""
    d = overview.kpi_deltas(con, period, filters)
    return {
        str(k): (_dec(p), _dec(v))
        for k, p, v in zip(d["kpi"], d["previous"], d["value"], strict=True)
    }


def explain(
    con: db.Connection,
    period: Period,
    metric: str = "revenue",
    filters: Filters = NO_FILTERS,
    top: int = TOP,
    totals: dict[str, tuple] | None = None,
) -> Explanation:
    """The change of `metric` ('revenue', 'customers', 'orders', 'complaints') from the period
    before `period` (overview.Period.previous) to `period`, under the filters. `totals`: the
    Overview tiles of that period and filters when already read (explain_all reads them once)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    prev = period.previous()
    totals = totals or _totals(con, period, filters)
    v0, v1 = totals[KPI_OF[metric]]
    change = _round(v1 - v0) if is_money(metric) else v1 - v0
    components: dict[str, Decimal] = {}
    factor_changes: dict[str, Decimal | None] = {}
    na: str | None = None
    if metric == "customers":
        _retained, gained, lost = db.query_rows(
            con, "explain_customer_flows", **_params(period, filters)
        )[0]
        components = {"gained": Decimal(gained), "lost": -Decimal(lost)}
    else:
        factors: dict[str, tuple[Decimal, Decimal]] = {}
        for name, num, den in FACTORS[metric]:
            n0, n1 = totals[num]
            d0, d1 = totals[den] if den else (Decimal(1), Decimal(1))
            if n0 <= 0 or n1 <= 0 or d0 <= 0 or d1 <= 0:
                na = name
                break
            with localcontext() as ctx:
                ctx.prec = 40
                factors[name] = (n0 / d0, n1 / d1)
        if na is None:
            # Exact effects, rounded to cents by largest remainder: they sum to the change.
            effects = lmdi(v0, v1, factors)
            components = dict(
                zip(effects, apportion(list(effects.values()), _round(change)), strict=True)
            )
            with localcontext() as ctx:
                ctx.prec = 40
                factor_changes = {k: x1 / x0 - 1 for k, (x0, x1) in factors.items()}
    residual = change - sum(components.values(), Decimal(0)) if components else Decimal(0)
    rows = db.query_rows(con, f"explain_{metric}", **_params(period, filters))
    return Explanation(
        metric=metric,
        period=period,
        previous_period=prev,
        previous=v0,
        current=v1,
        change=change,
        components=components,
        residual=residual,
        factor_changes=factor_changes,
        not_applicable=na,
        contributors=_contributors(rows, metric, change, top),
    )


def _params(period: Period, filters: Filters) -> dict[str, Any]:
    return {
        "start": period.start,
        "end_excl": period.end_excl,
        "as_of": period.end,
        "prev_start": period.previous().start,
        "measure": "revenue",
        "cut_1": value.TIER_CUTS[0],
        "cut_2": value.TIER_CUTS[1],
        "cut_3": value.TIER_CUTS[2],
        **filters.params(),
    }


def explain_all(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> dict[str, Explanation]:
    """explain() of every metric, by metric."""
    totals = _totals(con, period, filters)
    return {m: explain(con, period, m, filters, totals=totals) for m in METRICS}


def largest_change(explanations: dict[str, Explanation]) -> Explanation | None:
    """The explanation whose relative change is largest in size (a metric that was 0 before
    has no relative change and comes after them); None when nothing changed."""
    moved = [e for e in explanations.values() if e.change != 0]
    if not moved:
        return None
    return max(
        moved,
        key=lambda e: (e.change_pct is not None, abs(e.change_pct or 0), -METRICS.index(e.metric)),
    )


def period_for(con: db.Connection, f: Filters) -> Period | None:
    """The Overview's period for the filters (their start / end, else the default 12 months)."""
    if f.start and f.end:
        return Period(f.start, f.end)
    return overview.filter_period(con, f) or overview.default_period(con)
