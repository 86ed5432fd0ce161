"""Customer 360: who the customer is, value, stage, relationship level and one timeline."""

import datetime as dt

import streamlit as st

from crm_core.app import sections, ui
from crm_core.metrics import customer360, customers, value
from crm_core.present import customer_text, i18n, lifecycle_text

ui.page_guard()

st.title(ui.t("customer.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
cid = str(st.query_params.get("id") or "").strip()
dash = ui.t("customer.unknown")
if not cid:
    st.info(ui.t("customer.ask"))
    sections.customer.levels_by_owner(con, f, lang)
    st.stop()

table = ui.cached(customers.customer_table, con, f, extra=("clv",))
prof = customer_text.profile_text(customer360.profile_from(con, table, cid, f), lang)
if prof is None:
    st.warning(ui.t("customer.not_found", id=ui.md(cid[:80])))
    st.stop()


def shown(v: object) -> str:
    return dash if v is None or v == "" else ui.md(v)


st.subheader(ui.t("customer.who", name=shown(prof["name"]), id=ui.md(prof["customer_id"])))
st.caption(
    ui.t(
        "customer.facts",
        region=shown(prof["region"]),
        owner=shown(prof["owner"]),
        ctype=shown(prof["customer_type"]),
        as_of=i18n.fmt_date(dt.date.fromisoformat(prof["as_of"]), lang) if prof["as_of"] else dash,
    )
)
segments = {s.key: s.name(lang) for s in value.SEGMENTS}
stage, level = prof["lifecycle_stage"], prof["relationship_level"]
a, b, c, d = st.columns(4)
a.metric(ui.t("customer.tier"), value.tier_name(prof["tier"], lang))
b.metric(ui.t("customer.rfm"), segments.get(prof["rfm_segment"], dash))
c.metric(
    ui.t("customer.stage"), lifecycle_text.stage_labels(lang).get(stage, dash) if stage else dash
)
d.metric(
    ui.t("customer.level_title"),
    customer_text.level_labels(lang).get(level, dash) if level else dash,
)
a, b, c, d = st.columns(4)
ui.metric(a, ui.t("customer.net_revenue"), prof["net_revenue"], decimals=2, money=True)
ui.metric(b, ui.t("customer.orders"), prof["orders"])
c.metric(ui.t("customer.p_alive"), dash if prof["p_alive"] is None else f"{prof['p_alive']:.0%}")
if prof["clv"] is None:
    d.metric(ui.t("customer.clv"), dash)
else:
    ui.metric(d, ui.t("customer.clv"), prof["clv"], decimals=0, money=True)
if prof["lifecycle_rule"]:
    st.caption(ui.t("customer.stage_rule", rule=ui.md(prof["lifecycle_rule"])))
if prof["level_rule"]:
    st.caption(ui.t("customer.level_rule_label", rule=ui.md(prof["level_rule"])))

st.subheader(ui.t("customer.timeline"))
st.caption(ui.t("customer.timeline_help"))
events = customer_text.timeline_table(prof["timeline"], lang)
if events.empty:
    st.info(ui.t("customer.no_events"))
else:
    ui.table(events, lambda df: df.rename(columns=lambda k: ui.t(f"customer.col.{k}")))

sections.customer.levels_by_owner(con, f, lang)
