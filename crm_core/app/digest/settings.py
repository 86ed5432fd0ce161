"""Digest settings and secrets: the SMTP server and login, the base URL, the group webhooks' URLs."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from crm_core.engine import config

SECRETS_FILE = config.ROOT / ".streamlit" / "secrets.toml"


class DigestError(ValueError):
    """A digest that cannot be built or addressed (no data, no channel, unknown webhook name)."""


def _secrets_file() -> dict[str, Any]:
    path = Path(os.environ.get("CRM_LENS_SECRETS", SECRETS_FILE))
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    section = data.get("digest", {})
    return section if isinstance(section, dict) else {}


def setting(name: str) -> str | None:
    """A digest setting or secret: $CRM_LENS_<NAME>, else `name` in the [digest] table of
    .streamlit/secrets.toml (smtp, smtp_user, smtp_password, smtp_from, smtp_cafile, base_url)."""
    value = os.environ.get(f"CRM_LENS_{name.upper()}")
    if value:
        return value
    found = _secrets_file().get(name)
    return str(found) if found else None


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.upper())


def webhook_url(name: str) -> tuple[str, str | None]:
    """(URL, signing secret or None) of the group webhook called `name`: $CRM_LENS_WEBHOOK_<NAME>
    and $CRM_LENS_WEBHOOK_<NAME>_SECRET, else `name` and `<name>_secret` in [digest.webhooks] of
    .streamlit/secrets.toml. The URL holds the robot's key, so it is never taken from the
    command line nor written to a log."""
    env = f"CRM_LENS_WEBHOOK_{_env_name(name)}"
    hooks = _secrets_file().get("webhooks", {})
    url = os.environ.get(env) or (hooks.get(name) if isinstance(hooks, dict) else None)
    if not url:
        raise DigestError(
            f"webhook {name!r}: set ${env} or [digest.webhooks] {name} in .streamlit/secrets.toml"
        )
    secret = os.environ.get(f"{env}_SECRET") or (
        hooks.get(f"{name}_secret") if isinstance(hooks, dict) else None
    )
    return str(url), (str(secret) if secret else None)
