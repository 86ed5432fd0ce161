"""The Streamlit glue every page calls as `ui.X` (`from crm_core.app import ui`).

A facade: the names pages, app.py and tests use, re-exported from the modules of this package,
one job each (language, session, connection, tables, signin, snapshots, notes, sidebar,
downloads, charts, slideshow, upload). A test that patches a module-level name patches it in
the module that defines it. Widgets only one page uses are imported from their own module
(complaints: the Complaints page's).
"""

from __future__ import annotations

from crm_core.app.ui.charts import (
    chart,
    drill_list,
    explanation,
    figure,
    kpi_row,
    metric,
    plot,
)
from crm_core.app.ui.connection import (
    RERENDERS,
    cached,
    connection,
    consistent_read,
    detached_read,
)
from crm_core.app.ui.downloads import csv_download, table_downloads
from crm_core.app.ui.language import labels, lang, language_switch, md, md_lines, num, t
from crm_core.app.ui.notes import (
    data_warnings,
    empty_note,
    filter_line,
    filter_note,
    period_caption,
    period_of,
)
from crm_core.app.ui.session import (
    can,
    filters,
    flash,
    page_guard,
    pages,
    set_scope,
    viewer_scope,
)
from crm_core.app.ui.sidebar import sidebar
from crm_core.app.ui.signin import (
    audit_panel,
    audited_export,
    current_account,
    read_only_note,
    require,
    rolled_back,
    sign_in_gate,
    users_panel,
)
from crm_core.app.ui.slideshow import (
    goto_slide,
    hide_sidebar,
    prepared_slides,
    present_back_link,
    slide_index,
)
from crm_core.app.ui.tables import (
    PERCENT_PLACES,
    headed,
    is_share,
    labelled_table,
    needs_separators,
    percent_column,
    table,
)
from crm_core.app.ui.upload import (
    LOAD_PERMISSION,
    exclusive_load,
    history_table,
    keep_uploads,
    load_mode,
    report_messages,
    run_load,
    start_with_own_data,
    upload_panel,
    uploader_chrome,
    uploader_key,
)

__all__ = [
    "LOAD_PERMISSION",
    "PERCENT_PLACES",
    "RERENDERS",
    "audit_panel",
    "audited_export",
    "cached",
    "can",
    "chart",
    "connection",
    "consistent_read",
    "csv_download",
    "current_account",
    "data_warnings",
    "detached_read",
    "drill_list",
    "empty_note",
    "exclusive_load",
    "explanation",
    "figure",
    "filter_line",
    "filter_note",
    "filters",
    "flash",
    "goto_slide",
    "headed",
    "hide_sidebar",
    "history_table",
    "is_share",
    "keep_uploads",
    "kpi_row",
    "labelled_table",
    "labels",
    "lang",
    "language_switch",
    "load_mode",
    "md",
    "md_lines",
    "metric",
    "needs_separators",
    "num",
    "page_guard",
    "pages",
    "percent_column",
    "period_caption",
    "period_of",
    "plot",
    "prepared_slides",
    "present_back_link",
    "read_only_note",
    "report_messages",
    "require",
    "rolled_back",
    "run_load",
    "set_scope",
    "sidebar",
    "sign_in_gate",
    "slide_index",
    "start_with_own_data",
    "t",
    "table",
    "table_downloads",
    "upload_panel",
    "uploader_chrome",
    "uploader_key",
    "users_panel",
    "viewer_scope",
]
