"""ais.templating.AppContext calls what templates call exactly as Jinja's Context does."""
from __future__ import annotations

import pytest
from jinja2 import Environment, pass_context, pass_environment, pass_eval_context
from jinja2.runtime import Context

from ais.templating import AppContext


class Greeter:
    def hello(self, name, punctuation="!"):
        return f"hello {name}{punctuation}"

    @pass_context
    def marked(self, context, name):
        return f"{context['greeting']} {name}"


def stops():
    raise StopIteration


@pass_context
def from_context(context, suffix=""):
    return context["greeting"] + suffix


@pass_environment
def from_environment(environment, value):
    return f"{type(environment).__name__}:{value}"


@pass_eval_context
def from_eval_context(eval_ctx, value):
    return f"{eval_ctx.autoescape}:{value}"


class CallableObject:
    def __call__(self, value):
        return f"object:{value}"


TEMPLATE = """
{%- macro twice(x) %}{{ x }}{{ x }}{% endmacro -%}
{%- set greeting = 'hi' -%}
{%- for name in names -%}
[{{ plain(name, punctuation='?') }}|{{ from_context('!') }}|{{ from_environment(name) }}|{{ from_eval_context(name) }}|
{{- greeter.marked(name) }}|{{ table.get(name, 'none') }}|{{ names.index(name) }}|{{ twice(name) }}|{{ thing(name) }}|
{{- stops() is undefined }}|{{ loop.index }}]
{%- endfor -%}
"""


@pytest.mark.parametrize("autoescape", [True, False])
def test_the_app_context_renders_what_jinjas_renders(autoescape):
    outputs = []
    for context_class in (Context, AppContext):
        env = Environment(autoescape=autoescape)
        env.context_class = context_class
        greeter = Greeter()
        env.globals.update(plain=greeter.hello, from_context=from_context, from_environment=from_environment,
                           from_eval_context=from_eval_context, greeter=greeter, stops=stops, thing=CallableObject())
        outputs.append(env.from_string(TEMPLATE).render(names=["ann", "<b>"], table={"ann": "A"}))
    assert outputs[0] == outputs[1]
    assert "hello ann?|hi!|Environment:ann|" in outputs[1] and "|True|" in outputs[1]


def test_the_app_uses_it(app):
    assert app.jinja_env.context_class is AppContext
    assert isinstance(app.jinja_env.from_string("{{ x }}").new_context({"x": 1}), AppContext)


def test_a_stop_iteration_becomes_undefined():
    env = Environment()
    env.context_class = AppContext
    env.globals["stops"] = stops
    assert env.from_string("{{ stops() is undefined }}").render() == "True"
