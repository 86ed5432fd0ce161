"""Static chart images (PNG/SVG) through kaleido and the system's Chromium; no browser download."""

from __future__ import annotations

import shutil
import threading
import warnings

import plotly.graph_objects as go

_lock = threading.Lock()
_started = False

# A slide-sized image: 1000 px wide at scale 2 stays sharp on a projector and in a 16:9 deck.
WIDTH, HEIGHT, SCALE = 1000, 560, 2


class ImageExportUnavailable(RuntimeError):
    """No Chromium to render static images with."""


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise ImageExportUnavailable(
        "static chart images need Chromium (apt-get install chromium); interactive charts work "
        "without it"
    )


def _ensure_server() -> None:
    # One long-lived browser: each cold start costs 3-4 s, a warm render ~0.25 s.
    global _started
    if not _started:
        import kaleido

        _browser()
        kaleido.start_sync_server(silence_warnings=True)
        _started = True


def figure_image(
    fig: go.Figure, fmt: str = "png", width: int = WIDTH, height: int = HEIGHT, scale: int = SCALE
) -> bytes:
    """The figure rendered as PNG or SVG bytes (renders are serialised: kaleido is not reentrant)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported image format {fmt!r}")
    with _lock, warnings.catch_warnings():
        # plotly warns that per-call kaleido options are ignored with a running server.
        warnings.simplefilter("ignore", UserWarning)
        _ensure_server()
        return fig.to_image(format=fmt, width=width, height=height, scale=scale)
