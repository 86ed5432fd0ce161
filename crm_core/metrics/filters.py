"""Global filters shared by every page: one definition, bound as SQL parameters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

# The customer / order attributes a page can be filtered by, in sidebar order.
DIMENSIONS = ("region", "source", "owner", "segment", "category")

# The dimensions a scope can restrict (a signed-in user's regions / owners), and the Filters
# field that holds the allowed values of each.
SCOPE_FIELDS = {"region": "regions", "owner": "owners"}

# Which dimensions apply to each table, through the table's own column or its customer's
# (docs/metrics.md, "Filters"). Orders take region, source, owner and segment from their
# customer and category from the line. Leads have their own region, source and owner (falling
# back to the customer's) but no customer type or product category: filtering them through the
# customer would drop every lead that never became a customer. A complaint's category is a
# complaint type, not a product category. Interactions are reached through leads or orders.
APPLIES: dict[str, frozenset[str]] = {
    "orders": frozenset(DIMENSIONS),
    "customers": frozenset({"region", "source", "owner", "segment"}),
    "leads": frozenset({"region", "source", "owner"}),
    "complaints": frozenset({"region", "source", "owner", "segment"}),
}

# Separates the values of a scope parameter: one VARCHAR ("\x1f华东\x1f华南\x1f") matched with
# strpos on every engine, as list parameters do not travel to PostgreSQL and Spark alike.
SCOPE_SEPARATOR = "\x1f"


# The scope value of two scopes with nothing in common: a control character no cell holds.
NOWHERE = "\x1e"


class ScopeError(ValueError):
    """A scope value that cannot be bound (empty, or holding the separator character)."""


def _scope_param(values: tuple[str, ...]) -> str | None:
    if not values:
        return None
    for v in values:
        if not v or SCOPE_SEPARATOR in v:
            raise ScopeError(f"invalid scope value: {v!r}")
    sep = SCOPE_SEPARATOR
    return sep + sep.join(values) + sep


@dataclass(frozen=True)
class Filters:
    """A period plus optional single values for each dimension (None = all), and the scope:
    `regions` / `owners` restrict every query to those values (empty = unrestricted), on top of
    the single values. Frozen and made of tuples, so it is hashable and a cache key."""

    start: dt.date | None = None
    end: dt.date | None = None
    region: str | None = None
    source: str | None = None
    owner: str | None = None
    segment: str | None = None
    category: str | None = None
    regions: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A list would make the dataclass unhashable; sorted and unique, equal scopes are equal.
        for name in SCOPE_FIELDS.values():
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))
            _scope_param(getattr(self, name))

    def params(self) -> dict[str, Any]:
        """The SQL parameters: $region, $source, ... and the scope as $regions / $owners
        (NULL = unrestricted; see SCOPE_SEPARATOR)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in DIMENSIONS}
        for name in SCOPE_FIELDS.values():
            out[name] = _scope_param(getattr(self, name))
        return out

    @property
    def active(self) -> dict[str, str]:
        """Dimensions that are set, for captions and empty-result messages."""
        return {k: v for k in DIMENSIONS if (v := getattr(self, k)) is not None}

    @property
    def scoped(self) -> bool:
        """Whether a scope restricts the data."""
        return bool(self.regions or self.owners)

    def within_scope(self, regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()) -> Filters:
        """These filters restricted to a scope (empty = that dimension is unrestricted).

        The scope can only narrow: it is intersected with any scope already set, and a single
        region / owner outside it is dropped (the scope then applies), so a URL parameter never
        widens what a user sees."""
        changes: dict[str, Any] = {}
        for dim, name in SCOPE_FIELDS.items():
            allowed = tuple(regions if dim == "region" else owners)
            if not allowed:
                continue
            mine = getattr(self, name)
            narrowed = tuple(v for v in allowed if not mine or v in mine)
            # Nothing in common: a value no row holds, rather than lifting the restriction.
            changes[name] = narrowed or (NOWHERE,)
            chosen = getattr(self, dim)
            if chosen is not None and chosen not in changes[name]:
                changes[dim] = None
        return replace(self, **changes)


def inapplicable(table: str, f: Filters) -> list[str]:
    """The active dimensions of `f` that do not apply to `table` (APPLIES), in sidebar order:
    a page says so next to the section instead of showing an unfiltered figure as filtered."""
    applies = APPLIES.get(table, frozenset(DIMENSIONS))
    return [k for k in f.active if k not in applies]


NO_FILTERS = Filters()


def filter_options(con: Any, scope: Filters | None = None) -> dict[str, list[str]]:
    """The values each dimension can take in the data, sorted ({dimension: [values]}), within the
    scope of `scope` (its regions / owners; its other fields are ignored)."""
    from crm_core.engine import db

    s = Filters(regions=scope.regions, owners=scope.owners) if scope else NO_FILTERS
    df = db.query(con, "filter_options", **s.params())
    return {str(d): g["value"].tolist() for d, g in df.groupby("dimension")}


def unknown_values(f: Filters, options: dict[str, list[str]]) -> dict[str, str]:
    """The set dimensions whose value the data does not hold ({dimension: value}): such a filter
    would give all-zero figures that look like real ones."""
    return {k: v for k, v in f.active.items() if v not in options.get(k, [])}
