"""``flask --app ais create-owner`` (the only way to make an owner login), ``reset-password``
(an owner's password, from the server) and ``reseal``."""

from __future__ import annotations

import click
from flask import Flask

from ..audit import Actor


def register_commands(app: Flask) -> None:
    @app.cli.command("create-owner")
    @click.option("--username", prompt="Username", help="The owner's sign-in name (letters, digits, . _ @ + -).")
    @click.password_option(
        "--password",
        prompt="Password",
        confirmation_prompt="Repeat the password",
        help="Prompted for (hidden) when not given.",
    )
    def create_owner_command(username: str, password: str):
        """Create an owner login (asks for the username and a password twice)."""
        from .accounts import AccountError, create_owner

        try:
            user_id = create_owner(Actor.system("create-owner"), username, password)
        except AccountError as error:
            for problem in error.problems:
                click.echo(f"Error: {problem}", err=True)
            raise SystemExit(1) from None
        click.echo(f"Owner {username.strip()!r} created (id {user_id}). Sign in at /login.")

    @app.cli.command("reset-password")
    @click.argument("username")
    @click.option("--generate", is_flag=True, help="Make a random password and print it instead of asking.")
    def reset_password_command(username: str, generate: bool):
        """Set an owner's password (asked twice, hidden, or --generate); ends all their sessions."""
        import secrets

        from .accounts import AccountError, reset_owner_password

        if generate:
            password = secrets.token_urlsafe(18)
        else:
            password = click.prompt("New password", hide_input=True, confirmation_prompt="Repeat the password")
        try:
            ended = reset_owner_password(Actor.system("reset-password"), username, password)
        except AccountError as error:
            for problem in error.problems:
                click.echo(f"Error: {problem}", err=True)
            raise SystemExit(1) from None
        click.echo(f"Password of {username.strip()!r} set; {ended} session(s) ended.")
        if generate:
            click.echo(f"New password: {password}")

    @app.cli.command("reseal")
    def reseal_command():
        """Re-encrypt the stored two-factor keys with SECRET_KEY (after moving the old key to
        SECRET_KEY_FALLBACKS); exit 1 if a key cannot be opened with any configured key."""
        from .twofactor import reseal_secrets

        resealed, unreadable = reseal_secrets(Actor.system("reseal"))
        click.echo(f"{resealed} two-factor key(s) re-encrypted with SECRET_KEY.")
        if unreadable:
            click.echo(
                "Cannot decrypt the two-factor key of user(s) "
                f"{', '.join(map(str, unreadable))} with SECRET_KEY or SECRET_KEY_FALLBACKS: "
                "they can sign in with a recovery code, then turn two-factor sign-in off and on.",
                err=True,
            )
            raise SystemExit(1)
