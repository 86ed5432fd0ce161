"""Presentation mode: one chart per screen, large type, next/previous, deck and report exports."""

import streamlit as st

from crm_core import deck, slides, text, ui

ui.page_guard()

con, f, lang = ui.connection(), ui.filters(), ui.lang()
deck_slides = slides.all_slides(con, f, lang)
if not deck_slides:
    st.title(ui.t("present.title"))
    st.info(ui.t("present.no_slides"))
    st.stop()

ui.hide_sidebar()
i = ui.slide_index(len(deck_slides))
s = deck_slides[i]
st.title(ui.md(s.title))
st.subheader(ui.md(s.takeaway))
st.plotly_chart(
    text.safe_figure(slides.presentation_style(s.figure)), height=560, key=f"slide_{s.key}"
)
prev, counter, nxt = st.columns([1, 3, 1])
prev.button(
    ui.t("present.previous"),
    on_click=ui.goto_slide,
    args=(i - 1, len(deck_slides)),
    disabled=i == 0,
    width="stretch",
)
counter.markdown(ui.t("present.counter", i=i + 1, n=len(deck_slides)), text_alignment="center")
nxt.button(
    ui.t("present.next"),
    on_click=ui.goto_slide,
    args=(i + 1, len(deck_slides)),
    disabled=i == len(deck_slides) - 1,
    width="stretch",
)

as_of = f.end
with st.expander(ui.t("present.exports")):
    a, b, c = st.columns(3)
    a.download_button(
        ui.t("present.deck"),
        ui.audited_export("deck pptx", lambda: deck.build_deck(deck_slides, lang, as_of)),
        file_name=f"crm-lens-{lang}.pptx",
        on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
    )
    b.download_button(
        ui.t("present.report_pdf"),
        ui.audited_export(
            "report pdf", lambda: deck.html_to_pdf(deck.build_html(deck_slides, lang, as_of))
        ),
        file_name=f"crm-lens-{lang}.pdf",
        mime="application/pdf",
        on_click="ignore",
    )
    c.download_button(
        ui.t("present.report_html"),
        ui.audited_export("report html", lambda: deck.build_html(deck_slides, lang, as_of)),
        file_name=f"crm-lens-{lang}.html",
        mime="text/html",
        on_click="ignore",
    )
