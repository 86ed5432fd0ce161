"""The Definitions page: each figure's meaning in plain words, from the message catalogue (the
full rules are in docs/metrics.md; the texts here must agree with them)."""

from __future__ import annotations

from crm_core.present import i18n

# Sections in page order, each with its terms in reading order (keys of glossary.term/definition).
SECTIONS: dict[str, tuple[str, ...]] = {
    "overview": ("net_revenue", "active", "new", "orders", "complaints", "change", "week"),
    "value": ("tiers", "pareto", "rfm"),
    "lifecycle": ("lost", "alive", "clv"),
    "pipeline": ("funnel", "spike", "sla"),
    "acting": ("lift", "cac", "forecast"),
}


def entries(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section title, [(term, definition), ...]), ...] in `lang`, in page order."""
    return [
        (
            i18n.t(f"glossary.section.{section}", lang),
            [
                (i18n.t(f"glossary.term.{k}", lang), i18n.t(f"glossary.definition.{k}", lang))
                for k in keys
            ],
        )
        for section, keys in SECTIONS.items()
    ]
