"""Commands: flask --app ais <command>.  Each area keeps its commands beside its code."""

from flask import Flask

from . import commands
from .accounting import commands as accounting_commands
from .auth import commands as auth_commands
from .collections import commands as collections_commands
from .demo import large
from .mail import commands as mail_commands


def register(app: Flask) -> None:
    commands.register_commands(app)  # seed, check, backfill-installments
    large.register_commands(app)  # gen-demo
    auth_commands.register_commands(app)  # create-owner, reseal
    mail_commands.register_commands(app)  # outbox
    collections_commands.register_commands(app)  # reminders
    accounting_commands.register_commands(app)  # ledger rebuild
