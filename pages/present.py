"""Presentation mode: one chart per screen, large type, keys and remotes page, deck and report."""

import streamlit as st

from crm_core.app import ui
from crm_core.present import deck

ui.page_guard()

con, f, lang = ui.connection(), ui.filters(), ui.lang()
deck_slides, figures, as_of = ui.prepared_slides(con, f, lang)
if not deck_slides:
    st.title(ui.t("present.title"))
    st.info(ui.t("present.no_slides"))
    ui.present_back_link()
    st.stop()

ui.hide_sidebar()


# Paging reruns this fragment only: no app.py, no sidebar, no query (the slides are prepared),
# so a key press redraws one slide.
@st.fragment
def show_slide() -> None:
    n = len(deck_slides)
    i = ui.slide_index(n)
    s = deck_slides[i]
    back, prev, counter, nxt, exports = st.columns([2, 2, 2, 2, 2], vertical_alignment="center")
    with back:
        ui.present_back_link()
    # Arrow keys page, and so do PageUp / PageDown (what presenter remotes send): each key is a
    # button shortcut; the PageUp / PageDown twins are hidden (ui.hide_sidebar's style).
    keys = ui.t("present.keys")
    prev.button(ui.t("present.previous"), key="slide_prev", on_click=ui.goto_slide, args=(i - 1, n),
                disabled=i == 0, width="stretch", shortcut="ArrowLeft", help=keys)  # fmt: skip
    counter.markdown(ui.t("present.counter", i=i + 1, n=n), text_alignment="center")
    nxt.button(ui.t("present.next"), key="slide_next", on_click=ui.goto_slide, args=(i + 1, n),
               disabled=i == n - 1, width="stretch", shortcut="ArrowRight", help=keys)  # fmt: skip
    with st.container(key="slide_remote_keys"):
        st.button(ui.t("present.previous"), key="slide_pageup", on_click=ui.goto_slide,
                  args=(i - 1, n), disabled=i == 0, shortcut="PageUp")  # fmt: skip
        st.button(ui.t("present.next"), key="slide_pagedown", on_click=ui.goto_slide,
                  args=(i + 1, n), disabled=i == n - 1, shortcut="PageDown")  # fmt: skip

    st.title(ui.md(s.title))
    st.subheader(ui.md(s.takeaway))
    st.caption(ui.md(s.filters_line))
    st.plotly_chart(figures[i], height=430, key=f"slide_{s.key}")

    with exports.popover(ui.t("present.exports"), icon=":material/download:", width="stretch"):
        st.download_button(
            ui.t("present.deck"),
            ui.audited_export("deck pptx", lambda: deck.build_deck(deck_slides, lang, as_of)),
            file_name=deck.file_name("pptx", lang, as_of),
            on_click="ignore",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        )
        st.download_button(
            ui.t("present.report_pdf"),
            ui.audited_export(
                "report pdf", lambda: deck.html_to_pdf(deck.build_html(deck_slides, lang, as_of))
            ),
            file_name=deck.file_name("pdf", lang, as_of),
            mime="application/pdf",
            on_click="ignore",
        )
        st.download_button(
            ui.t("present.report_html"),
            ui.audited_export("report html", lambda: deck.build_html(deck_slides, lang, as_of)),
            file_name=deck.file_name("html", lang, as_of),
            mime="text/html",
            on_click="ignore",
        )


show_slide()
