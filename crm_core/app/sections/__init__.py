"""Sections of one page each (tabs, fragments, drill-downs) that would make its page too long to
read: `sections.<page>.X` draws one part of pages/<page>.py from crm_core results, with the same
keys, chart names and messages as if the page drew it. Imports the ui glue, metrics and present."""

from __future__ import annotations

from crm_core.app.sections import churn_clv, customer, lifecycle, pyramid

__all__ = ["churn_clv", "customer", "lifecycle", "pyramid"]
