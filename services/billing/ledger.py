"""The billing database: billing's own view of the subscriptions facts, the extras, and the
documents it issues with their gap-free numbers.

Plain functions of the caller's session (the service decides what one transaction holds, tests
what time it is). The view is written by the event handlers only; billing never asks
subscriptions. A draft title is never stored: ``compute`` makes every title of a year from
the view in one pass, so a draft always reflects every event already processed.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.billing import CANCELLED, CREDIT_NOTE, DRAFT, ISSUED, TITLE, IssuedTitlesSchema
from contracts.communes import is_member
from contracts.errors import Conflict, NotFound
from contracts.events import TITLE_CANCELLED, TITLE_ISSUED
from contracts.subscriptions import Change, subscribers_on
from servicekit.clock import LEGAL_TIME_ZONE
from services.billing import rules
from services.billing.models import (
    Convention,
    ConventionCost,
    Document,
    DocumentLine,
    Extra,
    IdempotencyKey,
    NumberSequence,
    Population,
    SubscriptionChange,
    Termination,
)

# -- the view, from subscriptions' events -------------------------------------------------------


def record_population(session, data, occurred_at):
    """The latest announcement of a population wins, whichever arrives last."""
    row = session.get(Population, (data["commune"], data["vintage"]))
    if row is None:
        session.add(
            Population(
                insee=data["commune"],
                vintage=data["vintage"],
                population=data["population"],
                occurred_at=occurred_at,
            )
        )
    elif occurred_at >= row.occurred_at:
        row.population, row.occurred_at = data["population"], occurred_at


def record_convention(session, data):
    session.merge(
        Convention(
            id=data["convention_id"],
            title=data["title"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            population_vintage=data["population_vintage"],
            members=sorted(data["members"]),
        )
    )
    for application in data["applications"]:
        session.merge(
            ConventionCost(
                convention_id=data["convention_id"],
                application=application["application"],
                annual_cost=application["annual_cost"],
            )
        )


def record_amendment(session, data):
    session.merge(
        ConventionCost(
            convention_id=data["convention_id"],
            application=data["application"],
            annual_cost=data["annual_cost"],
            amendment_id=data["amendment_id"],
            signed_on=data["signed_on"],
        )
    )


def record_subscription_change(session, event_id, data, occurred_at):
    session.merge(
        SubscriptionChange(
            event_id=event_id,
            convention_id=data["convention_id"],
            commune=data["commune"],
            application=data["application"],
            change=data["change"],
            effective_from=data["effective_from"],
            occurred_at=occurred_at,
        )
    )


def record_termination(session, data):
    session.merge(
        Termination(
            id=data["termination_id"],
            convention_id=data["convention_id"],
            commune=data["commune"],
            effective_on=data["effective_on"],
        )
    )


# -- a year's computation: its facts loaded once, every commune in one pass ---------------------


@dataclass(frozen=True)
class Computation:
    year: int
    annex: rules.Annex | None  # None: no convention covers the year
    titles: dict  # INSEE code → rules.Title, only for communes with something to bill


def compute(session, year):
    """Annex 1 and every commune's title for ``year`` from billing's view.

    Raises ``rules.AnnexUnavailable`` when a convention covers the year but the populations of
    its vintage are not all known yet. Without a convention only extras are billed."""
    first_of_january = date(year, 1, 1)
    convention = convention_covering(session, year)
    annex, subscribers = None, {}
    if convention is not None:
        terms = _terms(session, convention, first_of_january)
        subscribers = subscribers_on(
            first_of_january,
            _changes(session, convention.id, first_of_january),
            _terminated_on(session, convention.id),
        )
        annex = rules.annex(year, terms, _populations(session, terms, year), subscribers)
    return Computation(year, annex, rules.titles(year, annex, subscribers, _extras(session, year)))


def convention_covering(session, year):
    first_of_january = date(year, 1, 1)
    return session.scalars(
        select(Convention).where(
            Convention.period_start <= first_of_january, Convention.period_end >= first_of_january
        )
    ).first()


def _terms(session, convention, first_of_january):
    """The convention's applications on 1 January: an amendment counts from the first
    1 January on or after its signature, when a subscription to it can first take effect."""
    costs = session.execute(
        select(ConventionCost.application, ConventionCost.annual_cost).where(
            ConventionCost.convention_id == convention.id,
            (ConventionCost.signed_on.is_(None)) | (ConventionCost.signed_on <= first_of_january),
        )
    ).all()
    return rules.Convention(
        id=convention.id,
        period_start=convention.period_start,
        period_end=convention.period_end,
        population_vintage=convention.population_vintage,
        members=frozenset(convention.members),
        costs=dict(costs),
    )


def _populations(session, terms, year):
    rows = session.execute(
        select(Population.insee, Population.population).where(
            Population.vintage == rules.population_vintage(year, terms),
            Population.insee.in_(sorted(terms.members)),
        )
    ).all()
    return dict(rows)


def _changes(session, convention_id, day):
    rows = session.execute(
        select(
            SubscriptionChange.commune,
            SubscriptionChange.application,
            SubscriptionChange.change,
            SubscriptionChange.effective_from,
            SubscriptionChange.occurred_at,
            SubscriptionChange.event_id,
        ).where(
            SubscriptionChange.convention_id == convention_id,
            SubscriptionChange.effective_from <= day,
        )
    ).all()
    return [Change(*row) for row in rows]


def _terminated_on(session, convention_id):
    rows = session.execute(
        select(Termination.commune, func.min(Termination.effective_on))
        .where(Termination.convention_id == convention_id)
        .group_by(Termination.commune)
    ).all()
    return dict(rows)


def _extras(session, year):
    rows = session.scalars(
        select(Extra).where(Extra.year == year).order_by(Extra.recorded_at, Extra.id)
    )
    return [
        rules.Extra(r.id, r.insee, r.year, r.description, r.quantity, r.unit_price, r.vat_rate,
                    r.recorded_at)
        for r in rows
    ]


# -- Annex 1 ------------------------------------------------------------------------------------


def shares(session, year):
    try:
        computation = compute(session, year)
    except rules.AnnexUnavailable as error:
        raise NotFound(str(error)) from None
    if computation.annex is None:
        raise NotFound(f"No convention covers {year}.")
    return annex_view(computation.annex)


def annex_view(annex):
    return {
        "year": annex.year,
        "convention": annex.convention,
        "population_vintage": annex.population_vintage,
        "total_population": annex.total_population,
        "applications": [
            {
                "application": a.application,
                "annual_cost": a.annual_cost,
                "metropole_share": a.metropole_share,
                "per_inhabitant": a.per_inhabitant,
                "subscribed_share": a.subscribed_share,
                "unsubscribed_share": a.unsubscribed_share,
            }
            for a in annex.applications
        ],
    }


# -- titles -------------------------------------------------------------------------------------


def member(insee):
    if not isinstance(insee, str) or not is_member(insee):
        raise NotFound("No such member commune.")
    return insee


def titles_of(session, insee, year=None):
    """A commune's documents: issued titles and credit notes, and the draft of each year it
    has something to bill and no title in force for.

    For one year whose populations are missing this is ``NotFound``, as ``shares``; for every
    year known, such a year shows its issued documents only."""
    views = []
    for known_year in [year] if year is not None else _years_of(session, insee):
        try:
            current = compute(session, known_year).titles.get(insee)
        except rules.AnnexUnavailable as error:
            if year is not None:
                raise NotFound(str(error)) from None
            current = None
        documents = _documents(session, insee=insee, year=known_year)
        lines = lines_of(session, documents)
        in_force = [d for d in documents if d.kind == TITLE and d.status == ISSUED]
        views.extend(document_view(d, lines[d.number], current) for d in documents)
        if current is not None and not in_force:
            views.append(draft_view(current))
    return views


def _years_of(session, insee):
    years = set(
        session.scalars(select(Document.year).where(Document.insee == insee).distinct())
    )
    years.update(session.scalars(select(Extra.year).where(Extra.insee == insee).distinct()))
    for start, end in session.execute(select(Convention.period_start, Convention.period_end)):
        years.update(range(start.year, end.year + 1))
    return sorted(years)


def _documents(session, **criteria):
    query = select(Document).order_by(Document.number)
    for name, value in criteria.items():
        query = query.where(getattr(Document, name) == value)
    return session.scalars(query).all()


def lines_of(session, documents):
    lines = {d.number: [] for d in documents}
    if not lines:
        return lines
    rows = session.scalars(
        select(DocumentLine)
        .where(DocumentLine.number.in_(sorted(lines)))
        .order_by(DocumentLine.number, DocumentLine.position)
    )
    for row in rows:
        lines[row.number].append(
            rules.Line(row.application, row.description, row.quantity, row.unit_price,
                       row.amount, row.vat_rate, row.vat_category)
        )
    return lines


def draft_view(title):
    return {
        "number": None,
        "kind": TITLE,
        "status": DRAFT,
        "commune": title.commune,
        "year": title.year,
        "issued_at": None,
        "due_by": title.due_by,
        "corrects": None,
        "needs_correction": False,
        "lines": [line._asdict() for line in title.lines],
        "total_net": title.total_net,
        "total_vat": title.total_vat,
        "total": title.total,
    }


def document_view(document, lines, current):
    """An issued document; ``current`` is what its commune's title for the year would be now
    (``None``: nothing to bill), which says whether a title in force needs correction."""
    in_force = document.kind == TITLE and document.status == ISSUED
    return {
        "number": document.number,
        "kind": document.kind,
        "status": document.status,
        "commune": document.insee,
        "year": document.year,
        "issued_at": document.issued_at,
        "due_by": rules.due_by(document.year),
        "corrects": document.corrects,
        "needs_correction": in_force
        and rules.needs_correction(lines, current.lines if current else ()),
        "lines": [line._asdict() for line in lines],
        "total_net": document.total_net,
        "total_vat": document.total_vat,
        "total": document.total,
    }


# -- issuing (Art. 5) ---------------------------------------------------------------------------


def issue_titles(session, outbox, year, idempotency_key, issued_by, now):
    """Issues the title of every commune that has something to bill for ``year`` and no title
    in force; returns the answer as ``IssuedTitlesSchema`` dumps it.

    Under an idempotency key the first answer is stored and given again; the same key for
    another year is a ``Conflict``. Without a key a second call issues nothing new."""
    sequence = _locked_sequence(session, year)
    if idempotency_key is not None:
        stored = session.get(IdempotencyKey, idempotency_key)
        if stored is not None:
            if stored.year != year:
                raise Conflict("This idempotency key was used to issue another year's titles.")
            return stored.answer
    try:
        computation = compute(session, year)
    except rules.AnnexUnavailable as error:
        raise NotFound(str(error)) from None
    in_force = set(
        session.scalars(
            select(Document.insee).where(
                Document.year == year, Document.kind == TITLE, Document.status == ISSUED
            )
        )
    )
    issued = []
    for insee, title in computation.titles.items():
        if insee in in_force:
            continue
        document, lines = _issue(session, outbox, sequence, TITLE, title, None, issued_by, now)
        issued.append(document_view(document, lines, title))
    answer = IssuedTitlesSchema().dump(
        {"year": year, "issued": issued, "already_issued": len(in_force)}
    )
    if idempotency_key is not None:
        session.add(
            IdempotencyKey(key=idempotency_key, year=year, answer=answer, created_at=now)
        )
        try:
            session.flush()
        except IntegrityError:
            # Another year's issuing took the key meanwhile: that year's lock did not hold us.
            raise Conflict(
                "This idempotency key was used to issue another year's titles."
            ) from None
    return answer


def _locked_sequence(session, year):
    """The year's number series, locked until the transaction ends: issuers of one year run
    one after the other, so none issues a title another has just issued."""
    sequence = session.get(NumberSequence, year, with_for_update=True)
    if sequence is None:
        sequence = NumberSequence(year=year, last_number=0)
        session.add(sequence)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                f"Titles of {year} are being issued by another request; try again."
            ) from None
    return sequence


def _issue(session, outbox, sequence, kind, title, corrects, issued_by, now):
    """Stores ``title`` (a ``rules.Title``) as the next document of the series and announces
    it with ``title.issued`` in the same transaction."""
    sequence.last_number += 1
    number = f"{sequence.year}-{sequence.last_number:06d}"
    document = Document(
        number=number,
        kind=kind,
        status=ISSUED,
        insee=title.commune,
        year=title.year,
        issued_at=now,
        issued_by=str(issued_by)[:60] if issued_by is not None else None,
        corrects=corrects,
        total_net=title.total_net,
        total_vat=title.total_vat,
        total=title.total,
    )
    session.add(document)
    session.flush()
    for position, line in enumerate(title.lines, start=1):
        session.add(DocumentLine(number=number, position=position, **line._asdict()))
    outbox.add(
        session,
        TITLE_ISSUED,
        {
            "number": number,
            "kind": kind,
            "commune": title.commune,
            "year": title.year,
            "total_net": title.total_net,
            "total_vat": title.total_vat,
            "total": title.total,
            "corrects": corrects,
        },
        occurred_at=now,
        commune=title.commune,
    )
    return document, list(title.lines)


def late_titles(session, year, today):
    """Art. 5: titles of ``year`` deposited on Chorus Pro after 30 September of that year,
    and, once that day has passed, the titles in force not deposited yet and the drafts still
    unissued."""
    try:
        computation = compute(session, year)
    except rules.AnnexUnavailable as error:
        raise NotFound(str(error)) from None
    documents = _documents(session, year=year, kind=TITLE)
    lines = lines_of(session, documents)
    views = [
        document_view(d, lines[d.number], computation.titles.get(d.insee))
        for d in documents
        if _deposited_late(d, today)
    ]
    if rules.is_late(year, today):
        in_force = {d.insee for d in documents if d.status == ISSUED}
        views.extend(
            draft_view(title)
            for insee, title in computation.titles.items()
            if insee not in in_force
        )
    return views


def _deposited_late(title, today):
    if title.deposited_at is None:
        return title.status == ISSUED and rules.is_late(title.year, today)
    return rules.is_late(title.year, title.deposited_at.astimezone(LEGAL_TIME_ZONE).date())


# -- corrections: new documents, never edits ----------------------------------------------------


def correct_title(session, outbox, number, confirmed_by, now):
    """Cancels an issued title that no longer matches the facts with a credit note, and issues
    a corrected title with the current computation (``None`` if nothing is billed any more).

    Returns the views of the credit note and of the corrected title."""
    document = None
    if isinstance(number, str):
        document = session.get(Document, number, with_for_update=True)
    if document is None:
        raise NotFound("No such title.")
    if document.kind != TITLE:
        raise Conflict("A credit note is not corrected; correct the title it cancels.")
    if document.status == CANCELLED:
        raise Conflict("This title was already cancelled.")
    sequence = _locked_sequence(session, document.year)
    try:
        current = compute(session, document.year).titles.get(document.insee)
    except rules.AnnexUnavailable as error:
        raise Conflict(str(error)) from None
    issued_lines = lines_of(session, [document])[document.number]
    if not rules.needs_correction(issued_lines, current.lines if current else ()):
        raise Conflict("The title matches the facts: there is nothing to correct.")

    cancelling = rules.Title(
        document.insee,
        document.year,
        rules.credit_note_lines(issued_lines),
        -document.total_net,
        -document.total_vat,
        -document.total,
    )
    credit_note, credit_lines = _issue(
        session, outbox, sequence, CREDIT_NOTE, cancelling, document.number, confirmed_by, now
    )
    document.status = CANCELLED
    outbox.add(
        session,
        TITLE_CANCELLED,
        {
            "number": document.number,
            "commune": document.insee,
            "year": document.year,
            "credit_note": credit_note.number,
        },
        occurred_at=now,
        commune=document.insee,
    )
    corrected_view = None
    if current is not None:
        corrected, corrected_lines = _issue(
            session, outbox, sequence, TITLE, current, document.number, confirmed_by, now
        )
        corrected_view = document_view(corrected, corrected_lines, current)
    return document_view(credit_note, credit_lines, None), corrected_view


# -- extras (Art. 6) ----------------------------------------------------------------------------


def record_extra(session, insee, new, recorded_by, now):
    extra = Extra(
        id=uuid.uuid4(),
        insee=insee,
        year=new["year"],
        description=new["description"],
        quantity=new["quantity"],
        unit_price=new["unit_price"],
        vat_rate=rules.NORMAL_VAT_RATE,
        recorded_at=now,
        recorded_by=str(recorded_by)[:60],
    )
    session.add(extra)
    session.flush()
    return extra


def record_custom_form(session, data, now):
    """A custom form the Metropole integrated for a commune (Art. 2): from the second on, an
    extra with VAT (Art. 3, 6) on the commune's next title — the integration's year, or the
    first year after it whose title is not issued yet. The form's id names the extra, so the
    same integration is never billed twice."""
    if not data["billable"]:
        return None
    return _record_work_once(
        session, data["form_id"], data["commune"], data["integrated_on"].year,
        f"Intégration du formulaire « {data['title'][:200]} », formulaire hors catalogue "
        f"n° {data['integration_number']} (Art. 2)", data["price"], now, "eservices")


def record_campaign_cost(session, data, now):
    """A TéléAlerte campaign's communication cost, which the commune bears (Art. 2): an extra
    with VAT (Art. 6) on the commune's next title — the costing's year, or the first year after
    it whose title is not issued yet. The costing's id names the extra, so the same costing is
    never billed twice; a campaign re-sent is costed again, under another id, for the
    difference. A cost of nothing bills nothing."""
    if not data["amount"]:
        return None
    return _record_work_once(
        session, data["cost_id"], data["commune"], data["costed_on"].year,
        f"Communications de la campagne d'alerte « {data['headline'][:120]} » du "
        f"{data['launched_on']:%d/%m/%Y} : {data['sms_segments']} segment(s) SMS, "
        f"{data['voice_minutes']} minute(s) d'appel (Art. 2)", data["amount"], now, "alerting")


def _record_work_once(session, extra_id, insee, year, description, price, now, recorded_by):
    """An application's billable work as an extra named by ``extra_id`` (none if it exists:
    a redelivered event bills nothing twice), on the commune's next title from ``year``."""
    if session.get(Extra, extra_id) is not None:
        return None
    extra = Extra(id=extra_id, insee=insee, year=_next_title_year(session, insee, year),
                  description=description[:300], quantity=Decimal(1), unit_price=price,
                  vat_rate=rules.NORMAL_VAT_RATE, recorded_at=now, recorded_by=recorded_by)
    session.add(extra)
    session.flush()
    return extra


def _next_title_year(session, insee, year):
    """``year``, or the first year after it whose title of ``insee`` is not issued yet: where
    an extra recorded now is billed."""
    while session.scalar(select(Document.number).where(
            Document.insee == insee, Document.year == year, Document.kind == TITLE,
            Document.status == ISSUED).limit(1)):
        year += 1
    return year


def extras_of(session, insee, year=None):
    query = select(Extra).where(Extra.insee == insee)
    if year is not None:
        query = query.where(Extra.year == year)
    return session.scalars(query.order_by(Extra.year, Extra.recorded_at, Extra.id)).all()


def get_extra(session, insee, extra_id):
    """The extra work ``extra_id`` of ``insee``; another commune's is as unknown as a wrong id."""
    try:
        found = session.get(Extra, uuid.UUID(str(extra_id)))
    except ValueError:
        found = None
    if found is None or found.insee != insee:
        raise NotFound("No such extra work for this commune.")
    return found


def extra_view(extra):
    return {
        "id": extra.id,
        "commune": extra.insee,
        "year": extra.year,
        "description": extra.description,
        "quantity": extra.quantity,
        "unit_price": extra.unit_price,
        "amount": rules.extra_amount(extra.quantity, extra.unit_price),
        "vat_rate": extra.vat_rate,
        "recorded_at": extra.recorded_at,
    }
