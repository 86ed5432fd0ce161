"""The benchmark suite at a smoke size: it runs end to end, and the three ways agree.

No timing assertions: CI machines are too noisy for them (bench/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run


@pytest.mark.slow
def test_bench_suite_at_smoke_size(tmp_path: Path) -> None:
    out, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    args = ["--sizes", "20000", "--runs", "1", "--data-dir", str(tmp_path / "data")]
    assert run.main([*args, "--out", str(out), "--json", str(raw)]) == 0

    text = out.read_text(encoding="utf-8")
    assert "| 20k | overview |" in text and run.NOTES_MARKER in text
    (result,) = json.loads(raw.read_text())["results"]
    assert "error" not in result["load"], result["load"]
    assert result["load"]["rows"]["orders"] == 20_000
    # Every registered page set ran at least once without an error.
    failed = {p: r["error"] for p, r in result["pages"]["pages"].items() if "error" in r}
    assert not failed, failed
    assert all("cold_ms" in c for c in result["cold"].values()), result["cold"]
    # crm_core, plain SQL over the raw tables and pandas give the same Overview, Pyramid and
    # Lifecycle numbers.
    want = {"overview": "yes", "pyramid": "yes", "lifecycle": "yes"}
    assert result["equal"] == want, result["equal"]
    assert "| 20k | lifecycle |" in text.split("## Page sets vs plain SQL")[1]


def test_equality_check_notices_a_difference() -> None:
    from bench.baselines import same

    a = {"kpis": {"revenue": [100.0, 90.0]}, "monthly": [["2024-01-01", 1.0]]}
    assert same(a, json.loads(json.dumps(a)))
    assert not same(a, {"kpis": {"revenue": [100.02, 90.0]}, "monthly": [["2024-01-01", 1.0]]})
    assert not same(a, {"kpis": {"revenue": [100.0, 90.0]}, "monthly": []})
