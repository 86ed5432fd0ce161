"""Cross-sell rules in words: each association rule as a sentence a sales team can read."""

from __future__ import annotations

import pandas as pd

from crm_core.metrics.affinity import RULE_COLUMNS
from crm_core.present import i18n


def readable_rules(rules: pd.DataFrame, lang: str) -> pd.DataFrame:
    """`rules` (association_rules) with a leading `rule` column, the rule as a sentence
    ("买了「A」的客户买「B」的可能性是平均的 3.1 倍"), and the RULE_COLUMNS after it."""
    sentences = [
        i18n.t("affinity.sentence", lang, a=a, b=b, lift=i18n.fmt_number(lift, lang, 1))
        for a, b, lift in rules[["antecedent", "consequent", "lift"]].itertuples(index=False)
    ]
    return pd.DataFrame({"rule": sentences}).join(rules[RULE_COLUMNS].reset_index(drop=True))
