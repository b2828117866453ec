"""Commands: flask --app ais <command>.  Each area keeps its commands beside its code."""
from importlib import import_module

from flask import Flask

# Modules that define ``register_commands(app)``.
COMMAND_MODULES = (
    "ais.billing.commands",  # seed, check, backfill-installments
    "ais.billing.gendemo",  # gen-demo
    "ais.auth.commands",  # create-owner
    "ais.mail.commands",  # outbox
)


def register(app: Flask) -> None:
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a real import error inside the module
                raise
            continue
        module.register_commands(app)
