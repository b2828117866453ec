"""The package's version and the changelog agree."""

import re
from pathlib import Path

import ais

CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"


def test_the_version_is_a_pep440_release_or_dev_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", ais.__version__)


def test_the_changelog_has_an_unreleased_section_for_the_next_version_and_dated_releases():
    text = CHANGELOG.read_text()
    next_release = ais.__version__.split(".dev")[0]
    assert f"## [Unreleased] ({next_release})" in text or f"## [{next_release}] - " in text
    for version, date in re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\S+)", text, flags=re.MULTILINE):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", date), version
