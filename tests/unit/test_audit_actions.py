"""The /audit filter offers ``AUDIT_ACTIONS`` (not a scan of the table), so the list must name
every action the code records: a new ``audit.record(actor, "x.y")`` without it fails here."""

import ast
import re
from pathlib import Path

from ais.audit import AUDIT_ACTIONS

SOURCE = Path(__file__).resolve().parents[2] / "ais"
# Families of action names; a literal of one of these shapes anywhere in the code is an action
# (assigned to a variable, passed through a helper, or given to audit.record directly).
FAMILIES = sorted({name.split(".")[0] for name in AUDIT_ACTIONS})
NOT_ACTIONS = {"checkout.session", "payment.paid"}  # Stripe's object type (its stub); a PayMongo event type
ACTION_LITERAL = re.compile(r"""["']((?:{})\.[a-z0-9_]+)["']""".format("|".join(map(re.escape, FAMILIES))))


def _python_files():
    return sorted(p for p in SOURCE.rglob("*.py") if p.name != "audit.py" or p.parent != SOURCE)


def _endpoints() -> set[str]:
    """Endpoint names (``auth.login``) share the dotted shape; they are not actions."""
    from ais import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def _recorded_arguments():
    """The action argument of every ``audit.record(...)`` call, with where it is."""
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                yield f"{path.relative_to(SOURCE.parent)}:{node.lineno}", node.args[1]


def _constants(node) -> list[str] | None:
    """The strings an argument can be, if it is written out (a literal or a choice of literals)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _constants(node.body), _constants(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def test_every_action_literal_in_the_code_is_listed():
    endpoints = _endpoints()
    found = {}
    for path in _python_files():
        for match in ACTION_LITERAL.finditer(path.read_text(encoding="utf-8")):
            if match.group(1) not in endpoints and match.group(1) not in NOT_ACTIONS:
                found.setdefault(match.group(1), str(path.relative_to(SOURCE.parent)))
    missing = {name: where for name, where in found.items() if name not in AUDIT_ACTIONS}
    assert missing == {}, f"add these to ais.audit.AUDIT_ACTIONS: {missing}"


def test_every_literal_given_to_audit_record_is_listed():
    """Catches a new family of names too (the scan above only knows the listed families)."""
    calls = list(_recorded_arguments())
    assert len(calls) > 30  # the walk sees the calls (an empty walk would pass vacuously)
    missing = {}
    for where, argument in calls:
        for name in _constants(argument) or []:
            if name not in AUDIT_ACTIONS:
                missing[name] = where
    assert missing == {}, f"add these to ais.audit.AUDIT_ACTIONS: {missing}"


def test_listed_actions_are_all_still_recorded_somewhere():
    """A name nobody records any more would only clutter the filter."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in _python_files())
    unused = [name for name in AUDIT_ACTIONS if f'"{name}"' not in text and f"'{name}'" not in text]
    assert unused == []


def test_actions_are_listed_once():
    assert len(AUDIT_ACTIONS) == len(set(AUDIT_ACTIONS))
