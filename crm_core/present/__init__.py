"""present: turns results into what people read. It owns the charts (pure plotly, charts/ and
clv_charts), the slides and the deck / HTML / PDF report, static chart images, the CSV and Excel
exports, the message catalogue (i18n, messages/*.toml) with the wording built from it, the
glossary of definitions, and the escaping of user-derived text.

It imports metrics (result types and constants) and engine.config (settings) only, and never
queries the database: no function here takes a connection. The app layer (app.meeting, app.ui)
gathers the figures from the metrics and hands them here to be drawn and worded."""
