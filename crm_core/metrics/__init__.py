"""The metrics layer: every figure CRM Lens computes, as frames, dataclasses and keys.

It owns the filters every figure is computed under (filters), customer value (value: tiers,
Pareto, RFM), the relationship lifecycle (lifecycle: stages; lifecycle_cohorts: new vs lost,
cohorts), the lead pipeline (pipeline), complaints and their SLAs (complaints;
satisfaction, value, Pareto and the page's report: complaints_outcomes), the churn and
CLV models and their reports (clv_models, clv, clv_reports), the Overview figures (overview), the
weekly comparison (weekly), why a figure moved (explain), forecasts (forecast), cross-sell
(affinity), channel return (channels), the customer table and Customer 360 (customers,
customer360), drill-down lists (drill), what the data cannot tell (caveats), the
`metrics --json` document (figures) and the page calls as data (pagesets).

It imports only crm_core.engine. Its results are frames, dataclasses, numbers and stable keys,
never words: crm_core.present turns them into sentences, labels and charts.
"""
