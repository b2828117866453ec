"""Forms in a real browser: a field the server refused loses its error as soon as it is corrected."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_corrected_field_loses_its_error(ui, owner):
    page = ui.desktop().new_page()
    page.goto("/login")
    page.get_by_label(re.compile(r"^Username")).fill(owner.username)
    page.get_by_label(re.compile(r"^\s*Password(\s*\*)?\s*$")).fill(owner.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto("/clients/new")
    name = page.get_by_label(re.compile(r"^\s*Name"))
    email = page.get_by_label(re.compile(r"^\s*Email"))
    name.fill("Rosa Villanueva")
    email.fill("not an address")
    # The browser's own check would stop the form; the server's message is the one under test.
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.get_by_role("button", name=re.compile("Save|Add client")).click()
    email = page.get_by_label(re.compile(r"^\s*Email"))
    expect(email).to_have_attribute("aria-invalid", "true")
    error = page.locator(".invalid-feedback")
    expect(error).to_have_count(1)

    email.fill("rosa@example.com")
    expect(error).to_have_count(0)
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(email).not_to_have_class(re.compile(r"\bis-invalid\b"))
    ui.assert_clean()
