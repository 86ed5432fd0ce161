"""Global filters shared by every page: one definition, bound as SQL parameters."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

# The customer / order attributes a page can be filtered by, in sidebar order.
DIMENSIONS = ("region", "source", "owner", "segment", "category")


@dataclass(frozen=True)
class Filters:
    """A period plus optional single values for each dimension (None = all)."""

    start: dt.date | None = None
    end: dt.date | None = None
    region: str | None = None
    source: str | None = None
    owner: str | None = None
    segment: str | None = None
    category: str | None = None
    # A signed-in user's scope: restricted to these; empty = unrestricted.
    regions: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    def params(self) -> dict[str, Any]:
        """The dimension values as SQL parameters ($region, $source, ...)."""
        d = asdict(self)
        return {k: d[k] for k in DIMENSIONS}

    @property
    def active(self) -> dict[str, str]:
        """Dimensions that are set, for captions and empty-result messages."""
        return {k: v for k, v in self.params().items() if v is not None}


NO_FILTERS = Filters()
