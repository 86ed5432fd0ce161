"""The docs and CI stay in step with the code: data model reference, README commands, messages."""

from __future__ import annotations

import re

from conftest import ROOT

from crm_core.cli.admin import DOC_MARK
from crm_core.engine.schema import data_model_markdown
from crm_core.present import i18n


def test_data_model_doc_is_generated_from_schema() -> None:
    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert DOC_MARK in text
    assert text.split(DOC_MARK)[1] == data_model_markdown(), (
        "docs/data-model.md is stale: run python -m crm_core schema-doc"
    )


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    cmd = re.search(r"^TEST_CMD='(.+)'$", ci, re.M)
    assert cmd, "TEST_CMD not found in .ci/run"
    assert cmd.group(1) in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_message_has_both_languages() -> None:
    missing = [
        k for k, v in i18n.catalogue().items() if set(v) != set(i18n.LANGS) or not all(v.values())
    ]
    assert not missing, f"messages missing a language: {missing}"


def test_every_ui_t_key_used_in_code_exists() -> None:
    keys = set()
    pages = [*ROOT.glob("pages/*.py"), *ROOT.glob("crm_core/app/sections/*.py")]  # and their parts
    for path in [*pages, ROOT / "app.py", *ROOT.glob("crm_core/*.py")]:
        keys |= set(
            re.findall(
                r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")
            )
        )
    missing = sorted(k for k in keys if not i18n.has(k))
    assert not missing, f"message keys used but not defined: {missing}"


def test_deployment_lock_pins_every_requirement_with_hashes() -> None:
    # requirements.lock (docs/security.md) must cover requirements.txt, inside its ranges, each
    # pin with at least one sha256 hash, so `pip install --require-hashes` can use it.
    from packaging.requirements import Requirement

    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {
        m.group(1).lower().replace("_", "-"): (m.group(2), m.group(3))
        for m in re.finditer(
            r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n((?:\s+--hash=sha256:\w+ ?\\?\n?)+)", lock, re.M
        )
    }
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements.lock: regenerate it (docs/security.md)"
        version, hashes = pins[name]
        assert req.specifier.contains(version), (name, version, str(req.specifier))
        assert "--hash=sha256:" in hashes, name
