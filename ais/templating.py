"""The templates' context: Jinja's own, calling plain functions straight away.

Every call written in a template (``id_url(...)``, ``status_badge(...)``, ``payment_actions(...)``,
``url_for(...)``, ``names.get(...)``) goes through ``Context.call``, which first inspects the
callable and its ``__call__`` for Jinja's ``pass_context`` / ``pass_eval_context`` /
``pass_environment`` markers.  A list page makes two to three hundred such calls, and the
inspection cost more than most of the functions called.  Here Python functions and bound methods
without a marker, and built-ins (which cannot carry one), are called at once, as Jinja would call
them; everything else (macros, marked functions, other callables) goes through Jinja's own
``Context.call``.  tests/unit/test_templating.py checks both paths.
"""
from __future__ import annotations

from types import BuiltinFunctionType, FunctionType, MethodType

from jinja2.runtime import Context

_PYTHON = (FunctionType, MethodType)


class AppContext(Context):
    def call(__self, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        kind = type(__obj)
        if kind is BuiltinFunctionType or (kind in _PYTHON and not hasattr(__obj, "jinja_pass_arg")):
            # What Context.call does for a callable without a marker: drop the variables it passes
            # for marked ones, call, and turn a StopIteration into an undefined value.
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception")
        return super().call(__obj, *args, **kwargs)
