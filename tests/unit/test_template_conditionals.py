"""Templates write optional text with ``{% if %}``, not with a conditional expression that has no
``else`` (``{{ ' active' if active }}``): when its test is false, Jinja builds an ``Undefined`` for
it, which costs about eight times the ``{% if %}`` on every cell of a long list (the aging report
lost 0.2 ms a page to them)."""

import re
from pathlib import Path

import pytest
from jinja2 import Environment, Undefined

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "ais").rglob("*.html"))
# An expression tag holding " if " and no "else", or a test tag with one (``{% set x = a if b %}``).
OUTPUT = re.compile(r"\{\{-?((?:(?!\}\}).)*)-?\}\}", re.S)
SETTING = re.compile(r"\{%-?\s*set\s((?:(?!%\}).)*)-?%\}", re.S)


def _without_else(expression: str) -> bool:
    return bool(re.search(r"\sif\s", expression)) and not re.search(r"\selse\s", expression)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(path.parents[2])))
def test_no_conditional_expression_without_else(path):
    source = path.read_text()
    found = [m.group(0) for m in OUTPUT.finditer(source) if _without_else(m.group(1))]
    found += [m.group(0) for m in SETTING.finditer(source) if _without_else(m.group(1))]
    assert not found, f"write these with {{% if %}}: {found}"


def test_the_check_finds_the_pattern_it_names():
    assert _without_else(" ' active' if active ")
    assert not _without_else(" 'a' if b else 'c' ")
    # Why it matters: the missing branch is an Undefined object, built each time the test is false.
    assert isinstance(Environment().compile_expression("'x' if c", undefined_to_none=False)(c=False), Undefined)
