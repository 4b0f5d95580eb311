"""Rules of citizen participation, free of Nameko and of the database: which phase a process is
in and whether its phases make a calendar, who may take part, a participatory budget's ballot
(Decidim's vote basket: a total within the budget, between a minimum and a maximum number of
projects), a petition's threshold and the results when voting closes.

Moments are aware datetimes: comparing them compares instants, whatever their time zone."""

from decimal import Decimal

from contracts.events import PROCESS_KINDS

PHASES = ("information", "proposals", "voting", "results")
# The only phase a process may leave open: its results stay published.
OPEN_ENDED_PHASE = "results"
ELIGIBILITIES = ("any_account", "residents")


def phase_on(phases, now):
    """The phase ``now`` falls in, or None before the first phase, between two phases or
    after the last one that ends.

    ``phases`` maps a phase's name to (starts_at, ends_at). Each phase is [starts_at, ends_at):
    the instant a phase ends already belongs to the next one, so that a vote cast at the
    voting's closing instant is refused, as it would be once the results are computed. An
    ``ends_at`` of None leaves the phase open (the results). Phases are looked at in the order
    of PHASES, and ``phases_refusal`` keeps them from overlapping.
    """
    for name in PHASES:
        if name not in phases:
            continue
        starts_at, ends_at = phases[name]
        if starts_at <= now and (ends_at is None or now < ends_at):
            return name
    return None


def _is_aware(moment):
    return moment.tzinfo is not None and moment.utcoffset() is not None


def phases_refusal(phases):
    """None when the phases make a calendar, else the errors by field: "phases" for the whole,
    "phases.<name>" for one phase.

    Every kind of process needs a voting phase: votes, a ballot or signatures are only taken
    during it. A phase has an aware start and an end after its start (a phase of no length
    could take nothing); only the results may be left open-ended, since the results are
    computed when voting ends, which an open voting never does. The phases present follow the
    order of PHASES without overlapping: each starts no earlier than the previous one ends, so
    the results start when voting ends at the earliest. Gaps between phases are allowed
    (``phase_on`` then answers None). An error on one phase keeps it out of the order checks,
    so that one mistake is reported once.
    """
    unknown = sorted(str(name) for name in phases if name not in PHASES)
    if unknown:
        return {"phases": [f"Unknown phases: {', '.join(unknown)}; a process's phases are "
                           f"{', '.join(PHASES)}."]}
    errors = {}
    if "voting" not in phases:
        errors["phases.voting"] = ["Every process needs a voting phase."]
    previous = None  # the last well-formed phase, in the order of PHASES
    for name in PHASES:
        if name not in phases:
            continue
        starts_at, ends_at = phases[name]
        field = f"phases.{name}"
        if starts_at is None:
            errors[field] = [f"The {name} phase needs a start."]
            continue
        if ends_at is None and name != OPEN_ENDED_PHASE:
            errors[field] = [f"The {name} phase needs an end; only the results may stay open."]
            continue
        if not _is_aware(starts_at) or (ends_at is not None and not _is_aware(ends_at)):
            errors[field] = [f"The {name} phase's dates need their time zone."]
            continue
        if ends_at is not None and ends_at <= starts_at:
            errors[field] = [f"The {name} phase must end after it starts."]
            continue
        if previous is not None:
            previous_name, previous_starts, previous_ends = previous
            if starts_at < previous_starts:
                errors[field] = [f"The {name} phase must come after the {previous_name} phase."]
                continue
            if starts_at < previous_ends:
                errors[field] = [f"The {name} phase must start when the {previous_name} phase "
                                 f"ends ({previous_ends.isoformat()}) at the earliest."]
                continue
        # Only the last phase can be open-ended here, so previous_ends is never None above.
        previous = (name, starts_at, ends_at)
    return errors or None


def _euros(amount):
    return f"{amount:.2f} €"


def _projects(count):
    return f"{count} project" if count == 1 else f"{count} projects"


def ballot_refusal(selection, projects, budget, min_projects, max_projects):
    """None when a participatory budget's ballot may be cast, else the errors under
    "proposals".

    ``selection`` lists the proposal ids the citizen puts in their basket; ``projects`` maps
    the process's admitted proposals to their budget amount (Decimal); ``min_projects`` and
    ``max_projects`` bound the number of projects, None leaving that side open (Decidim's
    "minimum projects" and "min–max selected projects" rules). The basket is refused empty,
    with a project twice (a ballot counts once for each project) or one that is not an
    admitted project of the process; these say the ballot is not well formed, and are reported
    alone, since its total and its count would mean nothing. Then the total of the projects
    must stay within the budget (the budget itself is fine, a cent over is not) and their
    number within the bounds.
    """
    if not selection:
        return {"proposals": ["Select at least one project."]}
    errors = []
    seen, duplicated, unknown = set(), [], []
    for proposal_id in selection:
        if proposal_id in seen and proposal_id not in duplicated:
            duplicated.append(proposal_id)
        seen.add(proposal_id)
        if proposal_id not in projects and proposal_id not in unknown:
            unknown.append(proposal_id)
    if duplicated:
        errors.append("A project can be selected once: "
                      f"{', '.join(map(str, duplicated))} selected more than once.")
    if unknown:
        errors.append("Not projects of this participatory budget: "
                      f"{', '.join(map(str, unknown))}.")
    if errors:
        return {"proposals": errors}

    for proposal_id in selection:
        if projects[proposal_id] is None:
            # An admitted project of a participatory budget has a cost: the service checks it.
            raise ValueError(f"project {proposal_id} has no budget amount")
    total = sum((projects[proposal_id] for proposal_id in selection), Decimal(0))
    if total > budget:
        errors.append(f"The selected projects total {_euros(total)}, over the budget of "
                      f"{_euros(budget)}.")
    count = len(selection)
    if min_projects is not None and count < min_projects:
        errors.append(f"Select at least {_projects(min_projects)}; this ballot has {count}.")
    if max_projects is not None and count > max_projects:
        errors.append(f"Select at most {_projects(max_projects)}; this ballot has {count}.")
    return {"proposals": errors} if errors else None


def petition_reached(signatures, threshold):
    """A petition succeeds once its signatures reach the threshold: the threshold-th signature
    itself does it."""
    return signatures >= threshold


def _rank_key(proposal, votes):
    # Ties go to the earlier proposal, then to the smaller id, so that the ranking never
    # depends on the order the database returned the proposals in. str() orders UUIDs as
    # their canonical hex, which is their numeric order.
    return (-votes.get(proposal["id"], 0), proposal["submitted_at"], str(proposal["id"]))


def results(kind, proposals, votes, budget=None):
    """The ranking when voting closes, as ProposalResultSchema's dicts: proposal_id, title,
    votes, budget_amount, rank, selected.

    ``proposals``: {"id", "title", "budget_amount", "submitted_at"}; ``votes``: {proposal_id:
    count}, a proposal missing from it having none. Ranked by votes, most first; equal votes
    go to the earlier submission, then the smaller id, and every proposal gets its own rank
    from 1, so that the order is the same each time it is computed.

    For a participatory budget, the projects are funded in rank order while they fit in what
    is left of ``budget``: a project that does not fit is skipped and the next one considered,
    so that a cheaper project further down still gets what remains (Decidim's rule). The
    greedy order follows the ranking alone: a project with no vote is funded if money is left.
    Other kinds fund nothing.
    """
    if kind not in PROCESS_KINDS:
        raise ValueError(f"no kind of process {kind!r}")
    funding = kind == "participatory_budget"
    if funding and budget is None:
        raise ValueError("a participatory budget's results need its budget")
    left = budget
    ranked = []
    ordered = sorted(proposals, key=lambda proposal: _rank_key(proposal, votes))
    for rank, proposal in enumerate(ordered, start=1):
        amount = proposal["budget_amount"]
        selected = False
        if funding:
            if amount is None:
                raise ValueError(f"project {proposal['id']} has no budget amount")
            if amount <= left:
                selected = True
                left -= amount
        ranked.append({
            "proposal_id": proposal["id"],
            "title": proposal["title"],
            "votes": votes.get(proposal["id"], 0),
            "budget_amount": amount,
            "rank": rank,
            "selected": selected,
        })
    return ranked


def may_take_part(eligibility, account_commune_of_residence, process_commune):
    """Whether an account may propose, comment, vote or sign in a process.

    "any_account": every citizen account. "residents": only the accounts that declared their
    residence in the process's commune; an account that declared none is not a resident.
    Decidim checks residence with an authorisation handler; here the account's own statement
    is what there is.
    """
    if eligibility == "any_account":
        return True
    if eligibility == "residents":
        return (account_commune_of_residence is not None
                and account_commune_of_residence == process_commune)
    raise ValueError(f"no eligibility {eligibility!r}")
