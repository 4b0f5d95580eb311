"""What participation holds of a citizen, for their export (GDPR art. 15) and their erasure
(art. 17): the contributions they signed, the residence they declared, and — through
``voting.voter_key`` — their votes, ballots, signatures and reports."""

import secrets

from sqlalchemy import select, update

from services.participation import processes
from services.participation.models import (
    Ballot,
    Comment,
    Process,
    Proposal,
    Report,
    Residence,
    Signature,
    Vote,
)
from services.participation.voting import voter_key

# Rows whose key stands for a participant, not for an author.
KEYED = ((Vote, Vote.voter_key), (Ballot, Ballot.voter_key), (Signature, Signature.voter_key),
         (Report, Report.reporter_key))


def export_of(session, account_id):
    """Everything of the citizen's, with the words of their own hidden contributions: a
    moderator's decision withholds them from readers, not from their author."""
    author = str(account_id)
    key = voter_key(account_id)
    proposals = session.scalars(select(Proposal).where(Proposal.author_account_id == author)
                                .order_by(Proposal.submitted_at, Proposal.id)).all()
    comments = session.scalars(select(Comment).where(Comment.author_account_id == author)
                               .order_by(Comment.at, Comment.id)).all()
    residence = session.get(Residence, author)
    return {
        "residence": residence and {"commune": residence.commune,
                                    "declared_at": residence.declared_at},
        "proposals": [{**processes.proposal_view(
                           session, session.get(Process, p.process_id), p),
                       "title": p.title, "body": p.body} for p in proposals],
        "comments": [{**processes.comment_view(c), "body": c.body} for c in comments],
        "votes": _votes(session, key),
        "reports": [{**processes.report_view(r), "process_id": r.process_id}
                    for r in session.scalars(select(Report).where(Report.reporter_key == key)
                                             .order_by(Report.at, Report.id))],
    }


def _votes(session, key):
    votes = [{"process_id": v.process_id, "kind": "vote", "proposals": [v.proposal_id],
              "at": v.at} for v in session.scalars(select(Vote).where(Vote.voter_key == key))]
    ballots = [{"process_id": b.process_id, "kind": "ballot", "proposals": b.proposals,
                "at": b.cast_at}
               for b in session.scalars(select(Ballot).where(Ballot.voter_key == key))]
    signatures = [{"process_id": s.process_id, "kind": "signature", "proposals": [],
                   "at": s.at}
                  for s in session.scalars(select(Signature).where(Signature.voter_key == key))]
    return sorted(votes + ballots + signatures, key=lambda row: row["at"])


def anonymise(session, account_id):
    """GDPR art. 17: proposals and comments stay for the process's record, without their
    author; the declared residence goes; votes, ballots, signatures and reports stay counted
    under a random key each, so that no one can tie them to the account again (the key is a
    digest of an id identity keeps). Returns the contributions unsigned."""
    author = str(account_id)
    count = 0
    for model in (Proposal, Comment):
        count += session.execute(update(model).where(model.author_account_id == author)
                                 .values(author_account_id=None, author_name=None)).rowcount
    residence = session.get(Residence, author)
    if residence is not None:
        session.delete(residence)
    key = voter_key(account_id)
    for model, column in KEYED:
        for row in session.scalars(select(model).where(column == key)):
            setattr(row, column.key, secrets.token_hex(32))
    session.flush()
    return count
