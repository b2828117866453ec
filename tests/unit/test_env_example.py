"""deploy/ais.env.example names every setting the code reads, loads the same way in systemd's
syntax and in the shell's, and matches the settings table in docs/DEPLOYMENT.md."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

from ais.config import check_production, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "ais.env.example"
READERS = [ROOT / "ais" / "config.py", ROOT / "gunicorn.conf.py", ROOT / "deploy" / "backup.sh"]
# Python: os.environ.get("X"), env_flag("X"), env_int("X"); shell: ${X:-...} / ${X:?...}
READ = re.compile(r"""(?:os\.environ\.get|env_flag|env_int)\(["']([A-Z][A-Z0-9_]+)["']|\$\{([A-Z][A-Z0-9_]+):""")


def names_the_code_reads() -> set[str]:
    names = set()
    for path in READERS:
        for python_name, shell_name in READ.findall(path.read_text()):
            names.add(python_name or shell_name)
    return names


def example_values() -> dict[str, str]:
    """The file as systemd's EnvironmentFile= reads it (the subset the file keeps to)."""
    values = {}
    for line in EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"not NAME=value: {line!r}"
        if value.startswith('"'):
            assert value.endswith('"') and len(value) > 1, f"unbalanced quotes: {line!r}"
            value = value[1:-1]
            assert not set(value) & set('$`\\"'), f"characters systemd and sh read differently: {line!r}"
        else:
            assert not re.search(r"[\s<>;&|#'\"$`\\]", value), f"needs double quotes: {line!r}"
        values[name] = value
    return values


def documented_names() -> set[str]:
    text = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, flags=re.MULTILINE))


def test_the_example_names_every_setting_the_code_reads():
    assert set(example_values()) == names_the_code_reads()


def test_the_deployment_docs_table_names_the_same_settings():
    assert documented_names() == names_the_code_reads()


def test_the_shell_reads_the_example_as_systemd_does():
    script = f'set -a; . "{EXAMPLE}"; set +a; env -0'
    output = subprocess.run(
        ["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, check=True
    ).stdout.decode()
    from_shell = dict(item.split("=", 1) for item in output.split("\0") if "=" in item)
    for name, value in example_values().items():
        assert from_shell.get(name) == value, name


def test_the_example_makes_a_valid_production_configuration(tmp_path, monkeypatch):
    values = example_values()
    values["SECRET_KEY"] = secrets.token_urlsafe(48)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(str(tmp_path))
    check_production(settings)  # what create_app runs once every setting is read
    assert settings["AIS_ENV"] == "production" and settings["PROXY_COUNT"] == 1
    assert settings["MAIL_FROM"] == "AIS <billing@localhost>"
    assert settings["AIS_BUSINESS_NAME"] == "AIS Demo Trading"
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
