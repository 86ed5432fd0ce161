"""Cross-sell: which items customers buy together, and what to offer each customer next."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import affinity
from crm_core.present import affinity_text, charts, i18n

ui.page_guard()

t = ui.t
st.title(t("affinity.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period = ui.period_of(con, f)
if period is None:
    st.info(t("common.no_orders"))
    st.stop()

TOP_RULES, HEATMAP_RULES, TOP_ROWS = 50, 40, 200
kind = ui.cached(affinity.item_kind, con)
item = t(f"affinity.item_{kind}")
rules = ui.cached(affinity.association_rules, con, period, f, kind)
baskets = ui.cached(affinity.basket_count, con, period, f, kind)
span = {"start": i18n.fmt_date(period.start, lang), "end": i18n.fmt_date(period.end, lang)}
st.caption(t("affinity.caption", item=item, n=ui.num(baskets), **span))
if baskets == 0:
    st.info(t("affinity.no_baskets", item=item))
    st.stop()
th = affinity.thresholds_for(kind)
cap = t("affinity.cap", n=th.max_items) if kind == "product" else ""
st.caption(
    t(
        "affinity.thresholds",
        min_customers=th.min_customers,
        min_support=i18n.fmt_pct(th.min_support),
        cap=cap,
    )
)
if rules.empty:
    st.info(t("affinity.no_rules", item=item))
    st.stop()

pct = ui.percent_column()
config = {t(f"affinity.col.{c}"): pct for c in ("support", "confidence")}
config[t("affinity.col.lift")] = st.column_config.NumberColumn(format="%.2f")


def header(df):
    return df.rename(columns=lambda c: t(f"affinity.col.{c}"))


st.subheader(t("affinity.rules"), help=t("affinity.rules_help"))
readable = affinity_text.readable_rules(rules, lang)
places = dict.fromkeys(("support", "confidence"), ui.PERCENT_PLACES)
ui.table(readable.head(TOP_RULES).round(places), header, column_config=config)
ui.table_downloads(header(readable), "affinity-rules")
axes = t("affinity.heatmap"), t("affinity.heatmap_x"), t("affinity.heatmap_y")
ui.plot(charts.lift_heatmap, rules.head(HEATMAP_RULES), *axes, name="affinity_lift")
if len(rules) > HEATMAP_RULES:
    st.caption(t("affinity.heatmap_cap", n=HEATMAP_RULES))

st.subheader(t("affinity.next_best"), help=t("affinity.next_best_help", n=affinity.PER_CUSTOMER))
nb = ui.cached(affinity.next_best_view, con, period, f, kind, TOP_ROWS)
if not nb.rows:
    st.info(t("affinity.no_next_best"))
    st.stop()
owners = nb.by_owner.astype({"owner": object}).fillna({"owner": t("affinity.no_owner")})
st.markdown(f"**{t('affinity.by_owner')}**")
ui.table(owners, header)
st.caption(t("affinity.rows", n=ui.num(nb.rows), shown=ui.num(len(nb.top))))
shown = nb.top.round({"confidence": ui.PERCENT_PLACES})
ui.table(shown, header, column_config={t("affinity.col.confidence"): pct})
read = ui.detached_read()  # the whole list, read when a download is clicked
ui.table_downloads(lambda: header(read(affinity.next_best, period, f, kind)), "affinity-next-best")
