"""Screenshots of every page in Chinese and English at 1280×800 and 1920×1080 into docs/screenshots/.

    python -m tests.e2e.screens            # all pages, both languages, both sizes
    python -m tests.e2e.screens overview   # only the pages named

It builds the demo database in a temporary folder, serves the app on 127.0.0.1 (sign-in off, this
computer only) and takes what a projector or a laptop screen shows first: the viewport, after the
page's run has finished and its charts are drawn. Files: docs/screenshots/<page>-<lang>-<w>x<h>.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.e2e.served_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    RUN_COUNTER_JS,
    app_pages,
    exceptions,
    open_app,
    serve,
)

OUT = ROOT / "docs" / "screenshots"
SIZES = ((1280, 800), (1920, 1080))
LANGS = ("zh", "en")


def main(argv: list[str]) -> int:
    """Write the screenshots; exit 1 when a page shows an exception (named on stderr)."""
    from playwright.sync_api import sync_playwright

    from crm_core import ingest
    from crm_core.engine import db

    wanted = set(argv)
    pages = [p for p in app_pages() if not wanted or p.name in wanted]
    OUT.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.duckdb"
        con = db.connect(path)
        ingest.load_demo(con)
        con.close()
        with serve(path, "screens") as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width, height in SIZES:
                for lang in LANGS:
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, locale=f"{lang}-CN"
                    )
                    context.add_init_script(RUN_COUNTER_JS)  # what open_app waits on
                    page = context.new_page()
                    for app_page in pages:
                        url = f"{server.url}{app_page.url_path}?lang={lang}"
                        open_app(page, url, charts=app_page.has_charts)
                        page.wait_for_timeout(500)  # plotly's transitions settle
                        name = f"{app_page.name}-{lang}-{width}x{height}.png"
                        page.screenshot(path=str(OUT / name))
                        if exceptions(page):
                            failed.append(name)
                        print(OUT / name)
                    context.close()
            browser.close()
    for name in failed:
        print(f"exception on screen: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
