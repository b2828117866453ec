"""Request size limits: an oversized body is refused (413) before anything parses it, and no page
echoes a huge field back."""

from __future__ import annotations

from auth_support import OWNER_PASSWORD, make_owner


def test_the_limits_are_set(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 16 * 1024
    assert app.config["MAX_FORM_PARTS"] == 1000


def test_a_30_mb_anonymous_post_is_refused_before_it_is_parsed(app, client, monkeypatch):
    parsed = []
    from werkzeug.formparser import FormDataParser

    original = FormDataParser.parse

    def spy(self, *args, **kwargs):
        parsed.append(True)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FormDataParser, "parse", spy)
    body = b"username=" + b"a" * (30 * 1024 * 1024)
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413  # not 400 (the CSRF check would have read the form)
    assert parsed == []
    assert b"aaaaaaaaaa" not in response.data


def test_a_huge_field_in_a_small_body_is_refused_and_not_echoed(app, client, actions, fast_hashing):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    huge = "Z" * (20 * 1024)
    response = actions.post("/clients/new", {"name": huge, "email": "x@example.com"})
    assert response.status_code == 413
    assert huge[:1000] not in response.get_data(as_text=True)
    assert "too much to send" in response.get_data(as_text=True)


def test_too_many_form_parts_are_refused(app, client, actions):
    data = "&".join(f"f{i}=1" for i in range(1500))
    response = client.post("/forgot", data=data, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_a_webhook_body_above_the_limit_is_refused(app, client):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    response = client.post(
        "/webhooks/stripe", data=b"{" + b" " * (2 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert response.status_code == 413
