"""A small least-recently-used map shared by threads, for the process-wide caches of prepared
tables (ui.tables), prepared slides (ui.slideshow) and Spark query results (sparkdb)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most `size` entries and, with `weigh`, at most `max_weight` of their weights in total;
    the least recently read or written go first. Safe to share between threads (the sessions of
    a Streamlit process run in threads of their own)."""

    def __init__(
        self,
        size: int,
        max_weight: float | None = None,
        weigh: Callable[[V], float] | None = None,
    ) -> None:
        self.size, self.max_weight, self.weight = size, max_weight, 0.0
        self._weigh = weigh or (lambda _v: 0.0)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value kept for `key` (now the most recent), else None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        """Keep `value` for `key` as the most recent, dropping the least recent beyond the
        bounds; a value heavier than max_weight alone is not kept (nor what `key` held)."""
        weight = self._weigh(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.weight -= self._weigh(old)
            if self.max_weight is not None and weight > self.max_weight:
                return
            self._items[key] = value
            self.weight += weight
            while self._items and (
                len(self._items) > self.size
                or (self.max_weight is not None and self.weight > self.max_weight)
            ):
                self.weight -= self._weigh(self._items.popitem(last=False)[1])
