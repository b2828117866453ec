"""Fixtures shared by the integration tests (the app, client and actions are in tests/conftest.py).

Plain helpers (making users, invoices, webhook events) live beside them in ``auth_support``,
``backoffice_support``, ``portal_support`` and ``stripe_support``; a test imports the helpers it
uses from there and asks for these fixtures by name.
"""

from __future__ import annotations

from datetime import timedelta

import auth_support
import paymongo_support
import portal_support
import pytest
import stripe_support
from portal_support import ANN, BEN, DAY, OWNER, TODAY

from ais import clock
from ais.billing import services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.payments.devstub import StripeStub
from ais.payments.paymongo_stub import PayMongoStub


@pytest.fixture
def fast_hashing(app):
    """Cheap argon2 for the test's own users (the default stays strong)."""
    app.config["AIS_ARGON2_FAST"] = True
    return app


@pytest.fixture
def moving_clock():
    """A clock the test moves: ``now.advance(minutes=...)``."""

    class Now:
        value = auth_support.START

        def advance(self, **delta):
            self.value = self.value + timedelta(**delta)

    now = Now()
    clock.set_clock(lambda: now.value)
    yield now
    clock.set_clock(None)


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that the app's outbox sends to."""
    server = auth_support.SmtpServer()
    server.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=server.port,
        MAIL_USE_TLS=False,
        MAIL_USERNAME="",
        MAIL_FROM="AIS Test <billing@example.com>",
        MAIL_TIMEOUT=5,
    )
    yield server
    server.stop()


@pytest.fixture
def books(app, freeze_today):
    """A fixed 'today' and an app context; the books must be consistent after every test."""
    freeze_today(TODAY)
    with app.app_context():
        yield
        db.session.rollback()
        assert find_problems() == []


@pytest.fixture
def world(app, freeze_today) -> portal_support.World:
    """The portal tests' world (see portal_support): the fixed today, an app context, an owner, Ann
    and Ben and their books; the books must be consistent after every test."""
    make_client, make_user, make_invoice = (
        portal_support.make_client,
        portal_support.make_user,
        portal_support.make_invoice,
    )
    freeze_today(TODAY)
    with app.app_context():
        ann = make_client("Ann Cruz", ANN[0])
        ben = make_client("Ben Santos", BEN[0])
        owner = make_user(*OWNER)
        make_user(*ANN, role="client", client_id=ann)
        make_user(*BEN, role="client", client_id=ben)
        a_plan = make_invoice(
            ann, "1000.00", issued=TODAY - 50 * DAY, due=TODAY - 40 * DAY, count=4, line="Ann's secret goods"
        )
        portal_support.pay(a_plan, "250.00", on=TODAY - 30 * DAY, method="Bank transfer", reference="ANN-REF-11")
        a_full = make_invoice(ann, "1234.56", issued=TODAY - 5 * DAY, due=TODAY, description="Design work")
        a_draft = make_invoice(ann, "777.77", issue=False, description="Secret draft")
        a_void = make_invoice(ann, "555.55", issued=TODAY - 20 * DAY)
        services.void_invoice(portal_support.ACTOR, a_void, "Raised twice")
        b_full = make_invoice(ben, "4321.09", issued=TODAY - 7 * DAY, due=TODAY + 3 * DAY, line="Ben's secret goods")
        b_payment = portal_support.report(ben, b_full, "21.09", reference="BEN-REF-77")
        yield portal_support.World(
            owner=owner,
            ann=ann,
            ben=ben,
            a_plan=a_plan,
            a_full=a_full,
            a_draft=a_draft,
            a_void=a_void,
            b_full=b_full,
            b_payment=b_payment,
        )
        db.session.rollback()
        assert find_problems() == []


@pytest.fixture
def stripe_stub():
    """ais.payments.devstub's server on 127.0.0.1 (a free port), stopped after the test."""
    stub = StripeStub().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def stripe_on(app, stripe_stub, freeze_today):
    """Stripe configured and pointed at the stub; a fixed 'today'; an app context for the test."""
    app.config.update(
        STRIPE_SECRET_KEY=stripe_support.SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=stripe_support.WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_stub.url,
        AIS_BASE_URL="http://localhost",
        AIS_ARGON2_FAST=True,
        AIS_OWNER_EMAIL="owner@example.com",
    )
    freeze_today(TODAY)
    with app.app_context():
        yield stripe_stub
        db.session.rollback()


@pytest.fixture
def paymongo_stub():
    """ais.payments.paymongo_stub's server on 127.0.0.1 (a free port), stopped after the test."""
    stub = PayMongoStub(webhook_secret=paymongo_support.WEBHOOK_SECRET).start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def paymongo_on(app, paymongo_stub, freeze_today):
    """PayMongo configured (test mode) and pointed at the stand-in; a fixed 'today'; an app context."""
    app.config.update(
        PAYMONGO_SECRET_KEY=paymongo_support.SECRET_KEY,
        PAYMONGO_WEBHOOK_SECRET=paymongo_support.WEBHOOK_SECRET,
        PAYMONGO_API_BASE=paymongo_stub.url,
        AIS_BASE_URL="http://localhost",
        AIS_ARGON2_FAST=True,
        AIS_OWNER_EMAIL="owner@example.com",
    )
    freeze_today(TODAY)
    with app.app_context():
        yield paymongo_stub
        db.session.rollback()


@pytest.fixture(params=["stripe", "paymongo"])
def online(request, app):
    """The shared online-payment suite runs once per provider: a driver (online_support) that
    starts a checkout and makes, signs and delivers that provider's events."""
    import online_support

    request.getfixturevalue(f"{request.param}_on")
    stub = request.getfixturevalue(f"{request.param}_stub")
    return online_support.DRIVERS[request.param](stub)
