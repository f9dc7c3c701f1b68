"""The worklists page: what the manager (or HQ) must do next, list by list with due times, and a
"done" form per item with the outcome (and, for a callback, the customer's answer)."""

from __future__ import annotations

import uuid

from flask import render_template, request, url_for

from dispatch import i18n
from dispatch.api.console.i18n import current_locale, gettext
from dispatch.api.console.web import act, bp, principal
from dispatch.api.deps import unit_of_work
from dispatch.clock import utcnow
from dispatch.errors import ValidationFailed
from dispatch.worklists import rules
from dispatch.worklists import service as worklists
from dispatch.worklists.enums import WorklistKind, WorklistOutcome

PAGE_SIZE = 25


def _kind() -> WorklistKind | None:
    try:
        return WorklistKind(request.args["kind"]) if request.args.get("kind") else None
    except ValueError:
        return None


def _page() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@bp.route("/worklists")
def worklist_page():
    me, kind, number = principal(), _kind(), _page()
    lists = worklists.summary(unit_of_work(), me)
    items, total = worklists.list_items(unit_of_work(), me, kind=kind, offset=(number - 1) * PAGE_SIZE,
                                        limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    outcomes = {k: [o for o in WorklistOutcome if o in rules.allowed_outcomes(k)] for k in WorklistKind}
    return render_template("console/worklists.html", lists=lists, items=items, total=total, kind=kind,
                           page=number, pages=pages, outcomes=outcomes,
                           callback_kinds=rules.CALLBACK_KINDS, now=utcnow(), nav="worklists",
                           title_of=lambda item: worklists.title_in(item, i18n.normalise(current_locale())))


def _answer() -> dict[str, object]:
    satisfied = {"yes": True, "no": False}.get(request.form.get("satisfied", ""))
    score = request.form.get("score", "")
    if score and not score.isdigit():
        raise ValidationFailed("score", "a score from 1 to 5")
    return {"satisfied": satisfied, "score": int(score) if score else None}


@bp.route("/worklists/<uuid:item_id>/done", methods=["POST"])
def worklist_done(item_id: uuid.UUID):
    back = request.form.get("next") or url_for("console.worklist_page")
    if not back.startswith("/console"):
        back = url_for("console.worklist_page")

    def change():
        try:
            outcome = WorklistOutcome(request.form.get("outcome", ""))
        except ValueError:
            raise ValidationFailed("outcome", "choose how it ended") from None
        worklists.complete(unit_of_work(), principal(), item_id, outcome=outcome,
                           note=request.form.get("note", ""), **_answer())

    return act(change, gettext("Done: the item left the list."), back)
