"""A client proposes a new plan from the portal; the owner sees it with the schedule it gives and
approves (the re-plan runs, the client is emailed) or declines with a reason (emailed).  Limits,
one pending per invoice, lapsing, hostile input and access."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from portal_support import ACTOR, ANN, BEN, DAY, OWNER, TODAY, count, fresh, pay, sign_in, text_of
from sqlalchemy import select

from ais.billing import proposals, services
from ais.billing.proposals import ProposalLimits
from ais.models import AuditEntry, Installment, OutboxMessage, PlanProposal

FIRST = TODAY + 10 * DAY  # 26 March 2026


def propose(actions, invoice_id, count_="3", first=None):
    return actions.post(
        f"/portal/invoices/{invoice_id}/plan-proposal",
        {"installment_count": count_, "first_due": first or FIRST.isoformat()},
    )


def schedule(invoice_id):
    return [
        (i.number, i.due_date, i.amount, i.paid_amount)
        for i in fresh().scalars(
            select(Installment).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    ]


def test_a_client_proposes_and_the_owner_approves_it_and_the_replan_runs(client, actions, world):
    sign_in(actions, ANN)
    page = text_of(client.get(f"/portal/invoices/{world.a_plan}"))
    assert "Propose a new plan" in page and "at most 12" in page
    response = propose(actions, world.a_plan)
    assert response.status_code == 303
    assert "waiting for an answer" in text_of(client.get(f"/portal/invoices/{world.a_plan}"))
    proposal = fresh().scalars(select(PlanProposal)).one()
    assert (proposal.installment_count, proposal.first_due_date, proposal.frequency, proposal.balance) == (
        3,
        FIRST,
        "monthly",
        Decimal("750.00"),
    )
    assert count(AuditEntry, AuditEntry.action == "plan.proposed") == 1
    actions.logout()

    sign_in(actions, OWNER)
    listing = text_of(client.get("/plan-proposals"))
    assert "INV-2026-0001" in listing and "Ann Cruz" in listing and "3 monthly installments from" in listing
    page = text_of(client.get(f"/invoices/{world.a_plan}"))
    # The preview is the re-plan's rule: installment 1 (paid 250.00) kept, 750.00 over 3 from 26 March.
    assert "The client proposes a new plan" in page
    preview = services.replan_schedule(services.lock_invoice(world.a_plan), 3, "monthly", FIRST)
    fresh()
    assert [(i.number, i.due_date, i.amount) for i in preview] == [
        (1, date(2026, 2, 4), Decimal("250.00")),
        (2, date(2026, 3, 26), Decimal("250.00")),
        (3, date(2026, 4, 26), Decimal("250.00")),
        (4, date(2026, 5, 26), Decimal("250.00")),
    ]
    assert "26 Mar 2026" in page or "Mar 26, 2026" in page
    response = actions.post(f"/plan-proposals/{proposal.id}/approve")
    assert response.status_code == 303
    assert schedule(world.a_plan) == [
        (1, date(2026, 2, 4), Decimal("250.00"), Decimal("250.00")),
        (2, date(2026, 3, 26), Decimal("250.00"), Decimal("0.00")),
        (3, date(2026, 4, 26), Decimal("250.00"), Decimal("0.00")),
        (4, date(2026, 5, 26), Decimal("250.00"), Decimal("0.00")),
    ]
    assert fresh().get(PlanProposal, proposal.id).status == "approved"
    email = fresh().scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("plan-proposal:%"))).one()
    assert email.to_address == ANN[0] and "approved" in email.subject
    assert count(AuditEntry, AuditEntry.action == "plan.proposal_approved") == 1
    assert "No proposals waiting" in text_of(client.get("/plan-proposals"))


def test_the_owner_declines_with_a_reason_and_the_client_is_told(client, actions, world):
    proposal_id = proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, FIRST)
    sign_in(actions, OWNER)
    before = schedule(world.a_plan)
    response = actions.post(f"/plan-proposals/{proposal_id}/decline", {"reason": "   "})
    assert response.status_code == 303 and fresh().get(PlanProposal, proposal_id).status == "pending"
    actions.post(f"/plan-proposals/{proposal_id}/decline", {"reason": "Please pay the March installment first"})
    declined = fresh().get(PlanProposal, proposal_id)
    assert (declined.status, declined.decline_reason) == ("declined", "Please pay the March installment first")
    assert schedule(world.a_plan) == before
    email = fresh().scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("plan-proposal:%"))).one()
    assert "declined" in email.subject and "Please pay the March installment first" in email.body_text
    actions.logout()
    sign_in(actions, ANN)
    assert "was declined: Please pay the March installment first" in text_of(
        client.get(f"/portal/invoices/{world.a_plan}")
    )
    # Answered: she may propose again.
    assert propose(actions, world.a_plan, "4").status_code == 303
    assert count(PlanProposal, PlanProposal.status == "pending") == 1


def test_one_pending_proposal_per_invoice(world):
    proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, FIRST)
    with pytest.raises(proposals.ProposalRefused):
        proposals.propose_plan(ACTOR, world.ann, world.a_plan, 3, FIRST)
    assert count(PlanProposal) == 1


def test_a_proposal_lapses_when_the_invoice_is_paid_before_the_owner_answers(client, actions, world):
    proposal_id = proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, FIRST)
    pay(world.a_plan, "750.00", on=TODAY)
    sign_in(actions, OWNER)
    assert "lapses when answered" in text_of(client.get("/plan-proposals"))
    actions.post(f"/plan-proposals/{proposal_id}/approve")
    assert fresh().get(PlanProposal, proposal_id).status == "lapsed"
    assert len(schedule(world.a_plan)) == 4  # nothing re-planned
    assert count(OutboxMessage, OutboxMessage.dedupe_key.like("plan-proposal:%")) == 0


def test_a_proposal_cannot_be_answered_twice(world):
    proposal_id = proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, FIRST)
    assert proposals.approve_proposal(ACTOR, proposal_id) == "approved"
    with pytest.raises(services.InvalidTransition):
        proposals.decline_proposal(ACTOR, proposal_id, "changed my mind")


def test_the_owners_limits_bound_a_proposal(client, actions, world):
    sign_in(actions, OWNER)
    response = actions.post(
        "/settings/plan-proposals", {"enabled": "y", "max_installments": "4", "latest_first_days": "20"}
    )
    assert response.status_code == 302
    assert proposals.proposal_limits() == ProposalLimits(True, 4, 20)
    assert count(AuditEntry, AuditEntry.action == "plan_proposals.limits_changed") == 1
    for bad in (
        {"max_installments": "0", "latest_first_days": "20"},
        {"max_installments": "4", "latest_first_days": "x"},
    ):
        assert actions.post("/settings/plan-proposals", {"enabled": "y", **bad}).status_code == 400
    actions.logout()
    sign_in(actions, ANN)
    for installments, first in (("5", FIRST), ("2", TODAY + 21 * DAY), ("2", TODAY), ("2", TODAY - DAY)):
        response = propose(actions, world.a_plan, installments, first.isoformat())
        assert response.status_code == 303
    assert count(PlanProposal) == 0
    assert propose(actions, world.a_plan, "4", (TODAY + 20 * DAY).isoformat()).status_code == 303
    assert count(PlanProposal) == 1


def test_proposals_turned_off_hide_the_form_and_refuse(client, actions, world):
    proposals.set_proposal_limits(ACTOR, ProposalLimits(enabled=False))
    sign_in(actions, ANN)
    assert "Propose a new plan" not in text_of(client.get(f"/portal/invoices/{world.a_plan}"))
    propose(actions, world.a_plan)
    assert count(PlanProposal) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"installment_count": "", "first_due": FIRST.isoformat()},
        {"installment_count": "-1", "first_due": FIRST.isoformat()},
        {"installment_count": "1e3", "first_due": FIRST.isoformat()},
        {"installment_count": "99999999999999999999", "first_due": FIRST.isoformat()},
        {"installment_count": "3", "first_due": "2026-02-30"},
        {"installment_count": "3", "first_due": "'; DROP TABLE invoices; --"},
        {"installment_count": "3", "first_due": "9999-12-31"},
        {"installment_count": "3\x00", "first_due": FIRST.isoformat()},
    ],
)
def test_hostile_proposals_are_refused_and_write_nothing(client, actions, world, data):
    sign_in(actions, ANN)
    response = actions.post(f"/portal/invoices/{world.a_plan}/plan-proposal", data)
    assert response.status_code == 303
    assert count(PlanProposal) == 0


def test_a_client_proposes_only_on_their_own_open_installment_plan(client, actions, world):
    sign_in(actions, ANN)
    # Ben's invoice, a draft, an unknown id: the portal's 404; nothing written.
    for invoice_id in (world.b_full, world.a_draft, 999999, 2**31):
        assert propose(actions, invoice_id).status_code == 404
    # A void invoice and a full-payment invoice: refused with a message.
    for invoice_id in (world.a_void, world.a_full):
        assert propose(actions, invoice_id).status_code == 303
    assert count(PlanProposal) == 0
    with pytest.raises(services.NotFound):
        proposals.propose_plan(ACTOR, world.ben, world.a_plan, 2, FIRST)


def test_an_owner_cannot_propose_from_the_portal_preview(client, actions, world):
    sign_in(actions, OWNER)
    response = actions.post(
        f"/portal/invoices/{world.a_plan}/plan-proposal?client={world.ann}",
        {"installment_count": "3", "first_due": FIRST.isoformat()},
    )
    assert response.status_code == 403
    assert count(PlanProposal) == 0


def test_unknown_proposals_are_404(client, actions, world):
    sign_in(actions, OWNER)
    for url in ("/plan-proposals/999/approve", "/plan-proposals/999/decline", "/late-fees/999/waive"):
        assert actions.post(url, {"reason": "x"}).status_code == 404


def test_ben_never_sees_anns_proposal(client, actions, world):
    proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, FIRST)
    sign_in(actions, BEN)
    assert client.get(f"/portal/invoices/{world.a_plan}").status_code == 404
    assert "waiting for an answer" not in text_of(client.get(f"/portal/invoices/{world.b_full}"))


def test_a_proposal_whose_first_date_has_come_is_not_approved(world, freeze_today):
    proposal_id = proposals.propose_plan(ACTOR, world.ann, world.a_plan, 2, TODAY + 2 * DAY)
    before = schedule(world.a_plan)
    freeze_today(TODAY + 2 * DAY)
    with pytest.raises(services.InvalidInput, match="has come"):
        proposals.approve_proposal(ACTOR, proposal_id)
    assert fresh().get(PlanProposal, proposal_id).status == "pending"
    assert schedule(world.a_plan) == before
    assert proposals.decline_proposal(ACTOR, proposal_id, "Too late: propose again") == "declined"
