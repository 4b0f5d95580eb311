"""Participatory processes, proposals, comments, reports and moderation, on the caller's
session. Each step is allowed in its phase only, on the service's clock."""

import uuid
from datetime import datetime

from sqlalchemy import func, select

from contracts.errors import Conflict, Forbidden, Invalid, NotFound
from contracts.participation import PARTICIPATORY_BUDGET, PETITION
from servicekit.database import counted_page
from services.participation import rules
from services.participation.models import (
    Comment,
    Moderation,
    Process,
    Proposal,
    Report,
    Residence,
    Signature,
)

VOTING = "voting"
PROPOSALS = "proposals"


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def phases_of(process):
    """The stored phases as the rules read them: {name: (starts_at, ends_at)}."""
    return {name: (datetime.fromisoformat(start), end and datetime.fromisoformat(end))
            for name, (start, end) in process.phases.items()}


def current_phase(process, now):
    if process.closed_at is not None:
        return "results"
    return rules.phase_on(phases_of(process), now)


def require_phase(process, phase, now, doing):
    if current_phase(process, now) != phase:
        window = process.phases.get(phase)
        when = (f" It runs from {window[0]} to {window[1]}." if window else
                " This process has no such phase.")
        raise Conflict(f"{doing} only during the {phase} phase.{when}")


# -- processes


def create_process(session, insee, new, created_by, now):
    phases = {name: (phase["starts_at"], phase["ends_at"])
              for name, phase in new["phases"].items()}
    problems = rules.phases_refusal(phases)
    if problems:
        raise Invalid(problems)
    process = Process(
        id=uuid.uuid4(), commune=insee, publisher_kind=new["publisher_kind"],
        title=new["title"], description=new["description"], kind=new["kind"],
        eligibility=new["eligibility"],
        phases={name: [start.isoformat(), end.isoformat() if end else None]
                for name, (start, end) in phases.items()},
        voting_ends_at=phases["voting"][1], budget=new["budget"],
        min_projects=new["min_projects"], max_projects=new["max_projects"],
        threshold=new["threshold"], created_at=now, created_by=created_by)
    session.add(process)
    session.flush()
    return process


def process_of(session, process_id, insee=None, lock=False):
    query = select(Process).where(Process.id == _uuid(process_id))
    if lock:
        query = query.with_for_update()
    process = session.scalar(query) if _uuid(process_id) else None
    if process is None or (insee is not None and process.commune != insee):
        raise NotFound("No such process.")
    return process


def processes(session, commune=None, kind=None):
    query = select(Process).order_by(Process.created_at.desc())
    if commune:
        query = query.where(Process.commune == commune)
    if kind:
        query = query.where(Process.kind == kind)
    return session.scalars(query).all()


def process_view(session, process, now):
    signatures = None
    if process.kind == PETITION:
        signatures = session.scalar(select(func.count()).where(
            Signature.process_id == process.id))
    return {
        "id": process.id, "commune": process.commune,
        "publisher_kind": process.publisher_kind, "title": process.title,
        "description": process.description, "kind": process.kind,
        "eligibility": process.eligibility,
        "phases": {name: {"starts_at": start, "ends_at": end}
                   for name, (start, end) in phases_of(process).items()},
        "current_phase": current_phase(process, now), "budget": process.budget,
        "min_projects": process.min_projects, "max_projects": process.max_projects,
        "threshold": process.threshold, "signatures": signatures,
        "proposals": session.scalar(select(func.count()).where(
            Proposal.process_id == process.id, Proposal.hidden.is_(False))),
        "closed_at": process.closed_at, "results": process.results,
    }


def require_eligible(session, process, participant):
    """Art. 1: a process may be open to any citizen account, or to the commune's residents —
    those who declared living there."""
    residence = session.get(Residence, participant["account_id"])
    if not rules.may_take_part(process.eligibility, residence.commune if residence else None,
                               process.commune):
        raise Forbidden("This process is open to the commune's residents: declare your "
                        "commune of residence first (PUT /api/v1/me/participation/residence).")


def declare_residence(session, account_id, commune, now):
    residence = session.get(Residence, account_id)
    if residence is None:
        residence = Residence(account_id=account_id)
        session.add(residence)
    residence.commune, residence.declared_at = commune, now
    session.flush()
    return residence


# -- proposals and comments


def propose(session, process, participant, new, now):
    require_phase(process, PROPOSALS, now, "Proposals are made")
    require_eligible(session, process, participant)
    if process.kind == PARTICIPATORY_BUDGET and new["budget_amount"] is None:
        raise Invalid({"budget_amount": ["A project of a participatory budget states its "
                                         "cost."]})
    if process.kind == PARTICIPATORY_BUDGET and new["budget_amount"] > process.budget:
        raise Invalid({"budget_amount": [f"More than the whole budget ({process.budget} €)."]})
    location = new["location"] or {}
    proposal = Proposal(id=uuid.uuid4(), process_id=process.id, title=new["title"],
                        body=new["body"], budget_amount=new["budget_amount"],
                        lat=location.get("lat"), lon=location.get("lon"),
                        address=new["address"], author_account_id=participant["account_id"],
                        author_name=participant["name"], submitted_at=now, hidden=False)
    session.add(proposal)
    session.flush()
    return proposal


def proposal_of(session, process, proposal_id):
    proposal = session.get(Proposal, _uuid(proposal_id)) if _uuid(proposal_id) else None
    if proposal is None or proposal.process_id != process.id:
        raise NotFound("No such proposal.")
    return proposal


def proposals(session, process, include_hidden=False, limit=None, offset=0):
    """The process's proposals, oldest first; ``limit`` of them after ``offset`` (all without
    a limit: what the votes are counted on)."""
    query = select(Proposal).where(Proposal.process_id == process.id)
    if not include_hidden:
        query = query.where(Proposal.hidden.is_(False))
    return session.scalars(query.order_by(Proposal.submitted_at, Proposal.id)
                           .limit(limit).offset(offset)).all()


def proposal_view(session, process, proposal):
    votes = None
    if process.results is not None:
        votes = next((r["votes"] for r in process.results
                      if r["proposal_id"] == str(proposal.id)), 0)
    return {
        "id": proposal.id, "process_id": proposal.process_id,
        # A hidden contribution keeps its place, not its words.
        "title": None if proposal.hidden else proposal.title,
        "body": None if proposal.hidden else proposal.body,
        "budget_amount": proposal.budget_amount,
        "location": None if proposal.lat is None else {"lat": proposal.lat,
                                                       "lon": proposal.lon},
        "address": proposal.address, "author": proposal.author_name,
        "submitted_at": proposal.submitted_at, "hidden": proposal.hidden,
        "hidden_reason": proposal.hidden_reason,
        "comments": session.scalar(select(func.count()).where(
            Comment.proposal_id == proposal.id)),
        "votes": votes,
    }


def comment(session, process, proposal, participant, new, now):
    if process.closed_at is not None:
        raise Conflict("The process is closed: it takes no more comments.")
    require_eligible(session, process, participant)
    if proposal.hidden:
        raise Conflict("This proposal was hidden by moderation.")
    if new["parent_id"] is not None:
        parent = session.get(Comment, new["parent_id"])
        if parent is None or parent.proposal_id != proposal.id:
            raise Invalid({"parent_id": ["No such comment on this proposal."]})
    row = Comment(id=uuid.uuid4(), proposal_id=proposal.id, parent_id=new["parent_id"],
                  body=new["body"], author_account_id=participant["account_id"],
                  author_name=participant["name"], at=now, hidden=False)
    session.add(row)
    session.flush()
    return row


def comments(session, proposal, limit, offset):
    """``limit`` of the proposal's comments after ``offset``, oldest first: a reply comes after
    what it answers."""
    return session.scalars(select(Comment).where(Comment.proposal_id == proposal.id)
                           .order_by(Comment.at, Comment.id).limit(limit).offset(offset)).all()


def comment_view(row):
    return {"id": row.id, "proposal_id": row.proposal_id, "parent_id": row.parent_id,
            "body": None if row.hidden else row.body, "author": row.author_name,
            "at": row.at, "hidden": row.hidden, "hidden_reason": row.hidden_reason}


def comment_of(session, process, comment_id):
    row = session.get(Comment, _uuid(comment_id)) if _uuid(comment_id) else None
    proposal = session.get(Proposal, row.proposal_id) if row else None
    if proposal is None or proposal.process_id != process.id:
        raise NotFound("No such comment.")
    return row


# -- reports and moderation


def report(session, process, target, target_id, participant_key, new, now):
    row = Report(id=uuid.uuid4(), process_id=process.id, target=target, target_id=target_id,
                 reason=new["reason"], details=new["details"], reporter_key=participant_key,
                 at=now)
    session.add(row)
    session.flush()
    return row


def reports(session, process, limit, offset):
    """How many reports the process's contributions received, and ``limit`` of them after
    ``offset``, oldest first."""
    return counted_page(session, select(Report).where(Report.process_id == process.id)
                        .order_by(Report.at, Report.id), limit, offset)


def report_view(row):
    return {"id": row.id, "target": row.target, "target_id": row.target_id,
            "reason": row.reason, "details": row.details, "at": row.at}


def moderate(session, process, target, row, moderation, moderator, now):
    """Hides or shows a contribution; every decision is kept, with its moderator and reason."""
    row.hidden = moderation["hidden"]
    row.hidden_reason = moderation["reason"] if moderation["hidden"] else None
    session.add(Moderation(process_id=process.id, target=target, target_id=row.id,
                           hidden=moderation["hidden"], reason=moderation["reason"],
                           moderator=str(moderator), at=now))
    session.flush()
