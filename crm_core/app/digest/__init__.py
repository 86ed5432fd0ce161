"""Weekly digests: each account's own figures for the last complete week, by email or group webhook.

What a digest holds (docs/metrics.md, "Weekly digest"): the recipient's scope and week (Monday to
Sunday), the Weekly page's six figures with their change and tone, the three largest movements in
one sentence each (explain_text.takeaway), the valuable customers at risk (clv_reports.call_list) and the
overdue leads (pipeline.overdue_list) within the scope, and a link to the Weekly page for that
week. Every figure comes from the function the app's pages call, under the same scope and week.

By job: settings (secrets, webhook URLs), compose (the week, figures, Digest, JSON), render
(Markdown, HTML mail, chart, PDF, robot bodies), transport (SMTP, webhooks, retries), delivery
(plans, a run, the send log). This facade re-exports what callers use; settings a test or bench
replaces (ATTEMPTS, BACKOFF_S, _sleep, a function) are replaced in the module that holds them.
Part of app: may import engine, ingest, metrics, present and the rest of app.
"""

from __future__ import annotations

from crm_core.app.digest.compose import (
    Digest,
    Headline,
    build_digest,
    compute_scopes,
    computing_scopes,
    digest_filters,
    digest_week,
    link,
    scope_rows_key,
    to_json,
)
from crm_core.app.digest.delivery import Outcome, Plan, already_sent, deliver, plans_for
from crm_core.app.digest.render import markdown, md_escape, webhook_payloads
from crm_core.app.digest.settings import DigestError, setting, webhook_url
from crm_core.app.digest.transport import SendError

__all__ = [
    "Digest",
    "DigestError",
    "Headline",
    "Outcome",
    "Plan",
    "SendError",
    "already_sent",
    "build_digest",
    "compute_scopes",
    "computing_scopes",
    "deliver",
    "digest_filters",
    "digest_week",
    "link",
    "markdown",
    "md_escape",
    "plans_for",
    "scope_rows_key",
    "setting",
    "to_json",
    "webhook_payloads",
    "webhook_url",
]
