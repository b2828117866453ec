"""Request size limits: an oversized body is refused (413) before anything parses it, and no page
echoes a huge field back."""

from __future__ import annotations

import pytest
from auth_support import OWNER_PASSWORD, make_owner

from ais.forms import DEFAULT_FIELD_LIMIT, AppForm, SubForm, field_limit, leaf_fields


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


@pytest.mark.parametrize(
    "path,field,limit",
    [
        ("/clients/new", "name", 200),  # a Length validator's limit
        ("/clients/new", "phone", 50),
        ("/login", "username", 254),
        ("/forgot", "email", 254),
    ],
)
def test_a_field_longer_than_its_own_limit_is_refused_and_not_shown_back(app, client, actions, path, field, limit):
    """Within the 16 KiB request limit, yet longer than the field may hold: the form comes back with
    the field's error and without the value (ais.forms.refuse_overlong_values)."""
    make_owner(app)
    if path.startswith("/clients"):
        actions.login("owner", OWNER_PASSWORD)
    value = "Z" * (limit + 1) + "Q" * 5000
    response = actions.post(path, {"email": "x@example.com", "name": "Ann", "password": "x", field: value})
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert f"Field cannot be longer than {limit} characters." in html
    assert "Z" * (limit + 1) not in html and "QQQQ" not in html


def test_a_field_without_a_length_of_its_own_is_held_to_the_default_limit(app, client, actions):
    """An amount or a date has no Length validator: it may not be longer than DEFAULT_FIELD_LIMIT."""
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    value = "7" * 5000
    response = actions.post("/invoices/new", {"issue_date": value, "lines-0-unit_price": value})
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert "7" * (DEFAULT_FIELD_LIMIT + 1) not in html
    assert f"Field cannot be longer than {DEFAULT_FIELD_LIMIT} characters." in html


def test_every_field_of_every_form_has_a_limit_within_the_request_limits(app):
    for form_class in all_form_classes():
        with app.test_request_context():
            form = form_class(meta={"csrf": False}) if issubclass(form_class, AppForm) else form_class()
            for field in leaf_fields(form):
                assert 0 < field_limit(field) <= app.config["MAX_FORM_MEMORY_SIZE"], (form_class, field.name)


def all_form_classes() -> list[type]:
    classes, pending = [], [AppForm, SubForm]
    while pending:
        form_class = pending.pop()
        classes.append(form_class)
        pending.extend(form_class.__subclasses__())
    return classes
