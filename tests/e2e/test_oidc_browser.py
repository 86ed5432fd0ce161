"""Browser end-to-end: single sign-on through st.login against a mock OIDC provider (offline)."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_core.app import auth
from crm_core.engine import db
from crm_core.present import i18n
from e2e.served_app import (
    demo_copy,
    exceptions,
    free_port,
    metric_values,
    open_app,
    require_browser,
    screenshot,
    serve,
    wait_idle,
)

pytestmark = pytest.mark.e2e

# People the identity provider knows, with the claims docs/security.md names.
PEOPLE = {
    "boss@example.com": {"email": "boss@example.com", "groups": ["staff", "crm-lens-admin"]},
    "east@example.com": {"email": "east@example.com", "groups": ["crm-lens-viewer"], "region": "华东"},
    "guest@example.com": {"email": "guest@example.com", "groups": ["staff"]},  # no CRM Lens role
}  # fmt: skip


@pytest.fixture
def oidc_provider() -> Iterator[str]:
    """oidc-provider-mock on localhost: its discovery URL."""
    require_browser()
    mock = pytest.importorskip("oidc_provider_mock", reason="pip install oidc-provider-mock")
    users = [mock.User(sub=sub, claims=claims) for sub, claims in PEOPLE.items()]
    with mock.run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}/.well-known/openid-configuration"


def _secrets(directory: Path, app_port: int, metadata_url: str) -> Path:
    path = directory / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "crm-lens"\n'
        'client_secret = "crm-lens-secret"\n'
        f'server_metadata_url = "{metadata_url}"\n',
        encoding="utf-8",
    )
    return path


def _sign_in_as(page: Any, sub: str) -> None:
    """The app's single sign-on button, then the provider's button for `sub`, back to the app."""
    page.get_by_role("button", name="Sign in with your company account").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=sub).click()
    page.wait_for_url("http://127.0.0.1:*/**")
    wait_idle(page)


def test_single_sign_on_roles_and_scope_from_claims(
    demo_db_file: Path, tmp_path: Path, new_page: Any, oidc_provider: str
) -> None:
    path = demo_copy(demo_db_file, tmp_path, "oidc")
    port = free_port()
    secrets_file = _secrets(tmp_path, port, oidc_provider)
    region = urllib.parse.quote("华东")
    with serve(path, "auth-oidc", port=port, args=["--secrets.files", str(secrets_file)]) as app:
        anonymous = new_page()
        open_app(anonymous, f"{app.url}/data?lang=en")
        assert anonymous.get_by_role("button", name="Sign in with your company account").count()
        assert anonymous.locator("[data-testid=stMetric]").count() == 0
        assert anonymous.locator("input[type=file]").count() == 0

        admin = new_page()
        open_app(admin, f"{app.url}/?lang=en&region={region}")
        _sign_in_as(admin, "boss@example.com")
        admin.goto(f"{app.url}/?lang=en&region={region}")  # the callback lands on "/"
        wait_idle(admin)
        admin.wait_for_selector(".js-plotly-plot")
        filtered = metric_values(admin)
        assert "Revenue" in filtered
        assert admin.get_by_text("Signed in as").count() == 1

        viewer = new_page()
        open_app(viewer, f"{app.url}/?lang=en")
        _sign_in_as(viewer, "east@example.com")
        viewer.wait_for_selector(".js-plotly-plot")
        assert metric_values(viewer) == filtered  # the region claim is the viewer's scope
        viewer.locator("[data-testid=stSidebarNav]").get_by_text("Data", exact=True).click()
        # The viewer's Data page is quick enough that its run may never show as running in the
        # DOM: wait for the page itself, then for the app to be idle.
        viewer.wait_for_url("**/data**")
        title = i18n.t("data.title", "en")
        viewer.locator("h1").filter(has_text=title).first.wait_for()
        wait_idle(viewer)
        assert viewer.locator("input[type=file]").count() == 0
        screenshot(viewer, "oidc_viewer_data")

        guest = new_page()
        open_app(guest, f"{app.url}/?lang=en")
        _sign_in_as(guest, "guest@example.com")
        assert guest.get_by_text("has no CRM Lens role").count() == 1
        assert guest.locator("[data-testid=stMetric]").count() == 0
        for page in (anonymous, admin, viewer, guest):
            assert not exceptions(page), exceptions(page)
    con = db.connect(path, read_only=True)
    log = auth.audit_log(con)
    con.close()
    # One line per browser session: the admin's second page load is a second session.
    assert sorted(log[["actor", "action", "detail"]].values.tolist()) == [
        ["boss@example.com", "sign_in", "oidc"],
        ["boss@example.com", "sign_in", "oidc"],
        ["east@example.com", "sign_in", "oidc"],
        ["guest@example.com", "sign_in_refused", "oidc: no role"],
    ]
