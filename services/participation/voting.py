"""Votes, a participatory budget's ballots, a petition's signatures, and the results when the
voting closes, on the caller's session.

One per account is kept by the database itself: a unique key on (what, voter), so that many
clients voting at once — or one client sending the same vote twice — are each counted once.
A vote is stored under a digest of the account, never its id.
"""

import hashlib
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Invalid
from contracts.events import PROCESS_CLOSED
from contracts.participation import CONSULTATION, PARTICIPATORY_BUDGET, PETITION
from servicekit.clock import LEGAL_TIME_ZONE
from services.participation import processes, rules
from services.participation.models import Ballot, Process, Signature, Vote

VOTING = "voting"


def voter_key(account_id):
    return hashlib.sha256(f"participation-voter:{account_id}".encode()).hexdigest()


def _require_kind(process, kind, doing):
    if process.kind != kind:
        raise Conflict(f"{doing} only in a {kind.replace('_', ' ')}; this process is a "
                       f"{process.kind.replace('_', ' ')}.")


def vote(session, process, proposal, participant, now):
    _require_kind(process, CONSULTATION, "One votes for a proposal")
    processes.require_phase(process, VOTING, now, "Votes are cast")
    processes.require_eligible(session, process, participant)
    if proposal.hidden:
        raise Conflict("This proposal was hidden by moderation.")
    row = Vote(process_id=process.id, proposal_id=proposal.id,
               voter_key=voter_key(participant["account_id"]), at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict("You have already voted for this proposal: one vote per account.") \
            from None
    return row


def cast_ballot(session, process, participant, selection, now):
    """A participatory budget's ballot, replacing the account's earlier one until voting
    closes: it counts once."""
    _require_kind(process, PARTICIPATORY_BUDGET, "A ballot is cast")
    processes.require_phase(process, VOTING, now, "Ballots are cast")
    processes.require_eligible(session, process, participant)
    projects = {str(p.id): p.budget_amount for p in processes.proposals(session, process)}
    chosen = [str(proposal_id) for proposal_id in selection]
    problems = rules.ballot_refusal(chosen, projects, process.budget, process.min_projects,
                                    process.max_projects)
    if problems:
        raise Invalid(problems)
    key = voter_key(participant["account_id"])
    ballot = session.scalar(select(Ballot).where(Ballot.process_id == process.id,
                                                 Ballot.voter_key == key))
    if ballot is None:
        ballot = Ballot(process_id=process.id, voter_key=key, proposals=chosen, cast_at=now)
        try:
            with session.begin_nested():
                session.add(ballot)
        except IntegrityError:
            # The same account's other ballot arrived first: this one replaces it.
            ballot = session.scalar(select(Ballot).where(Ballot.process_id == process.id,
                                                         Ballot.voter_key == key))
    ballot.proposals, ballot.cast_at = chosen, now
    session.flush()
    return ballot, sum((projects[p] for p in chosen), Decimal("0"))


def ballot_of(session, process, participant):
    ballot = session.scalar(select(Ballot).where(
        Ballot.process_id == process.id,
        Ballot.voter_key == voter_key(participant["account_id"])))
    if ballot is None:
        return None, None
    projects = {str(p.id): p.budget_amount for p in processes.proposals(session, process)}
    return ballot, sum((projects.get(p, Decimal("0")) for p in ballot.proposals),
                       Decimal("0"))


def sign(session, process, participant, now):
    _require_kind(process, PETITION, "A petition is signed")
    processes.require_phase(process, VOTING, now, "The petition is signed")
    processes.require_eligible(session, process, participant)
    try:
        with session.begin_nested():
            session.add(Signature(process_id=process.id,
                                  voter_key=voter_key(participant["account_id"]), at=now))
    except IntegrityError:
        raise Conflict("You have already signed this petition.") from None
    return session.scalar(select(func.count()).where(Signature.process_id == process.id))


def tally(session, process):
    """Votes by proposal id (text), and how many accounts took part."""
    if process.kind == PARTICIPATORY_BUDGET:
        ballots = session.scalars(select(Ballot).where(Ballot.process_id == process.id)).all()
        counts = {}
        for ballot in ballots:
            for proposal_id in ballot.proposals:
                counts[proposal_id] = counts.get(proposal_id, 0) + 1
        return counts, len(ballots)
    if process.kind == PETITION:
        signatures = session.scalar(select(func.count()).where(
            Signature.process_id == process.id))
        return {}, signatures
    rows = session.execute(select(Vote.proposal_id, func.count()).where(
        Vote.process_id == process.id).group_by(Vote.proposal_id)).all()
    voters = session.scalar(select(func.count(func.distinct(Vote.voter_key))).where(
        Vote.process_id == process.id))
    return {str(proposal_id): count for proposal_id, count in rows}, voters


def close(session, outbox, process, now):
    """Once voting has ended: the results computed, kept and announced as ``process.closed``
    in the same transaction. Closing twice changes nothing."""
    if process.closed_at is not None:
        return False
    if now < process.voting_ends_at:
        raise Conflict("Voting is still open: the process closes when it ends, "
                       f"{process.voting_ends_at.astimezone(LEGAL_TIME_ZONE):%d/%m/%Y %H:%M}.")
    counts, ballots = tally(session, process)
    listed = [{"id": str(p.id), "title": p.title, "budget_amount": p.budget_amount,
               "submitted_at": p.submitted_at}
              for p in processes.proposals(session, process)]
    ranked = rules.results(process.kind, listed, counts, process.budget)
    process.results = [{**r, "proposal_id": str(r["proposal_id"]),
                        "budget_amount": None if r["budget_amount"] is None
                        else str(r["budget_amount"])} for r in ranked]
    process.closed_at = now
    outbox.add(session, PROCESS_CLOSED, {
        "process_id": process.id, "commune": process.commune,
        "publisher_kind": process.publisher_kind, "title": process.title,
        "kind": process.kind, "closed_on": now.astimezone(LEGAL_TIME_ZONE).date(),
        "budget": process.budget, "ballots": ballots, "threshold": process.threshold,
        "results": ranked,
    }, occurred_at=now, commune=process.commune)
    session.flush()
    return True


def due_for_closing(session, now):
    """The processes whose voting has ended and that are not closed yet."""
    return session.scalars(select(Process).where(
        Process.closed_at.is_(None), Process.voting_ends_at <= now)
        .with_for_update(skip_locked=True)).all()
