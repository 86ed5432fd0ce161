"""The Streamlit glue: ui (what every page calls), sections (parts of one page each that
would make the page too long), sign-in and accounts, meeting snapshots,
security headers, the weekly digest and its scheduler, the erasure of one
customer's data (purge), the meeting's slides gathered from the metrics (meeting), the result
store and its warming (results, warm) and a new process's one-time work (startup).

With pages/ and app.py, the only code that imports streamlit. It may import engine, ingest,
metrics and present; nothing below imports app.
"""
