"""Status badges (ais/badges.py): words and icon for every state, escaped, never colour alone."""
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from ais.badges import STATUS_STYLES, status_badge


def test_known_states_have_their_words_icon_and_class():
    assert str(status_badge("overdue")) == (
        '<span class="badge status-badge text-bg-danger" data-status="overdue">'
        '<span class="status-icon" aria-hidden="true">!</span> Overdue</span>')
    for state, (css, words, icon) in STATUS_STYLES.items():
        html = str(status_badge(state))
        assert css in html and html.endswith(f"</span> {escape(words)}</span>") and icon in html


@given(st.text(max_size=30))
def test_any_other_state_is_shown_by_name_and_escaped(state):
    html = str(status_badge(state))
    assert html.startswith('<span class="badge status-badge ') and html.endswith("</span>")
    assert f'data-status="{escape(state)}"' in html  # the name, escaped, whatever it holds
    if state not in STATUS_STYLES:
        assert html.endswith(f">{escape(state.replace('_', ' ').capitalize())}</span>")
    assert status_badge(state) == status_badge(state)
