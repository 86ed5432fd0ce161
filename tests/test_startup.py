"""A new app process's one-time work (crm_core/app/startup.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from crm_core.app import startup


def _app(root: Path) -> Path:
    (root / "pages").mkdir()
    (root / "app.py").write_text("import streamlit as st\nfrom crm_core.app import ui\n")
    (root / "pages" / "a.py").write_text(
        '"""A page."""\nfrom crm_core.metrics import overview\nfrom json import dumps\n\n'
        "def f():\n    import csv  # inside a function: imported when called, not at start\n"
    )
    return root


def test_entry_modules_are_what_app_py_and_the_pages_import(tmp_path: Path) -> None:
    # app.py: streamlit, crm_core.app (+ .ui); pages/a.py: crm_core.metrics (+ .overview), json
    # (+ json.dumps, a function: skipped when imported). Not csv: only a call imports it.
    assert startup.entry_modules(_app(tmp_path)) == [
        "crm_core.app",
        "crm_core.app.ui",
        "crm_core.metrics",
        "crm_core.metrics.overview",
        "json",
        "json.dumps",
        "streamlit",
    ]


def test_the_real_pages_entry_modules_include_the_churn_models() -> None:
    found = startup.entry_modules()
    assert {"crm_core.app.ui", "crm_core.metrics.clv_reports", "streamlit"} <= set(found)


def test_prepare_imports_them_and_times_each_step(tmp_path: Path) -> None:
    took = startup.prepare(_app(tmp_path))
    assert set(took) == {"imports", "inspect", "catalogue", "code_version", "chart"}
    assert "crm_core.metrics.overview" in sys.modules and "json.dumps" not in sys.modules
    assert all(s >= 0 for s in took.values())
