"""The account page names each signed-in device in words, not as a raw User-Agent string."""

from __future__ import annotations

import pytest
from auth_support import OWNER_PASSWORD, make_owner

from ais.formatting import describe_device

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def _fast(fast_hashing):
    yield


@pytest.mark.parametrize(
    "user_agent, words",
    [
        (WINDOWS_CHROME, "Chrome 131 on Windows 10"),
        (IPHONE_SAFARI, "Mobile Safari 17 on iOS 17 (iPhone)"),
        ("", "Unknown browser"),
        ("x" * 300, "Unknown browser"),
        ("curl/8.5.0", "curl 8"),
    ],
)
def test_a_user_agent_in_words(user_agent, words):
    assert describe_device(user_agent) == words


def test_the_account_page_lists_devices_in_words(app, client, actions, actions_for):
    make_owner(app)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = IPHONE_SAFARI
    assert actions_for(phone, app).login("owner", OWNER_PASSWORD).status_code == 302
    client.environ_base["HTTP_USER_AGENT"] = WINDOWS_CHROME
    assert actions.login("owner", OWNER_PASSWORD).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "Chrome 131 on Windows 10" in page and "Mobile Safari 17 on iOS 17 (iPhone)" in page
    assert "AppleWebKit" not in page
