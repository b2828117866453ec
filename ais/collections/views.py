"""The collections pages.  Thin views: a form parses, one function reads or writes, the page renders.

* ``GET|POST /settings/reminders``  backoffice.collections.reminder_settings  the owner's schedule
* ``GET|POST /portal/reminders``    portal.collections.reminders            a client's choice
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..auth.access import current_actor
from ..billing import reminders
from ..database import reads_only
from ..portal.queries import client_reminder_choice
from ..portal.scope import portal_url, scope
from . import client_bp, owner_bp
from .forms import CourtesyRemindersForm, ReminderScheduleForm

# --- The owner's schedule of reminders ----------------------------------------------------------


def _schedule_from(form: ReminderScheduleForm) -> reminders.ReminderSchedule:
    before_text = (form.before_days.data or "").strip()
    if before_text and not (before_text.isascii() and before_text.isdigit()):
        raise reminders.InvalidSchedule("Enter a whole number of days, or leave it empty.")
    return reminders.ReminderSchedule(
        enabled=bool(form.enabled.data),
        before_days=int(before_text) if before_text else None,
        on_due_date=bool(form.on_due_date.data),
        overdue_days=reminders.parse_days(form.overdue_days.data or ""),
    )


@owner_bp.route("/settings/reminders", methods=["GET", "POST"])
def reminder_settings():
    form = ReminderScheduleForm()
    status = 200
    if form.validate_on_submit():
        try:
            schedule = _schedule_from(form)
        except reminders.InvalidSchedule as error:
            form.form_errors.append(str(error))
            status = 400
        else:
            reminders.set_reminder_schedule(current_actor(), schedule)
            flash(reminders.describe(schedule), "success")
            return redirect(url_for(".reminder_settings"))
    elif form.is_submitted():
        status = 400
    current = reminders.reminder_schedule()
    if not form.is_submitted():
        form.enabled.data = current.enabled
        form.before_days.data = "" if current.before_days is None else str(current.before_days)
        form.on_due_date.data = current.on_due_date
        form.overdue_days.data = ", ".join(str(days) for days in current.overdue_days)
    return render_template(
        "collections/reminder_settings.html",
        form=form,
        current=reminders.describe(current),
        catch_up=reminders.CATCH_UP_DAYS,
    ), status


# --- A client's reminders -----------------------------------------------------------------------


@client_bp.get("/reminders")
@reads_only
def reminders_page():
    current = scope()
    wanted = client_reminder_choice(current.client_id)
    form = CourtesyRemindersForm(formdata=None, data={"wanted": wanted})
    return render_template(
        "collections/portal_reminders.html",
        form=form,
        wanted=wanted,
        schedule=reminders.reminder_schedule(),
    )


@client_bp.post("/reminders")
def reminders_save():
    """A client turns the courtesy reminders on or off (an owner's preview never gets here: 403)."""
    form = CourtesyRemindersForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(portal_url("portal.collections.reminders_page"), 303)
    wanted = bool(form.wanted.data)
    reminders.set_courtesy_reminders(current_actor(), scope().client_id, wanted)
    flash(
        "You will be reminded before and on due dates."
        if wanted
        else "Reminders before and on due dates are off. Overdue notices still come.",
        "success",
    )
    return redirect(portal_url("portal.collections.reminders_page"), 303)
