"""The rules of billing, free of Nameko and of the database: Annex 1 (per-capita shares,
Art. 4), the annual title of each commune (Art. 5 and 6) and when an issued title no longer
matches the facts.

Money is ``Decimal``; inside an allocation amounts are integer cents, never floats. The
agreement's formula ``(PopCom × Pappli) / (PopTot − Part3M)`` is dimensionally inconsistent;
it is read as ``share = PopCom × (Pappli − Part3M) / PopTot`` (docs/billing.md).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from contracts.billing import OUTSIDE_SCOPE, RATE_PLACES, STANDARD_RATE
from contracts.catalogue import APPLICATION_CODES, APPLICATIONS
from contracts.subscriptions import population_vintage_for
from servicekit.calendar import next_working_day_from

# The Metropole's key among the INSEE codes of an allocation. Ties of remainders are broken by
# key, and a lowercase letter sorts after every digit: in a tie, communes get the cent first.
METROPOLE = "metropole"

CENT = Decimal("0.01")
PER_INHABITANT_STEP = Decimal(1).scaleb(-RATE_PLACES)
NO_VAT = Decimal("0.00")
# Adaptations, evolutions and dedicated trainings carry VAT at the normal rate (Art. 6).
NORMAL_VAT_RATE = Decimal("0.20")

_NAMES = {application.code: application.name for application in APPLICATIONS}
_CATALOGUE_ORDER = {code: position for position, code in enumerate(APPLICATION_CODES)}


class AnnexUnavailable(Exception):
    """Annex 1 of a year cannot be computed from what billing knows (yet)."""


def to_cents(amount):
    """Integer cents of a Decimal amount in euros; more than two places is a bug upstream."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents):
    # Exact: the product of an integer and 0.01 keeps two places (1.00, not 1).
    return Decimal(cents) * CENT


def round_to_cent(amount):
    """Half-up to the cent, the euro's rule for one computed amount (Reg. (EC) 1103/97)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(total_cents, weights):
    """Art. 4: ``total_cents`` shared in proportion to ``weights`` (key → integer weight) by
    largest remainder (Hamilton).

    Each key gets the floor of its exact share ``total × w / W``, computed in integers; the
    cents left over go one each to the largest remainders, ties broken by key (INSEE codes in
    order, then ``METROPOLE``). The shares add up to ``total_cents`` exactly.
    """
    total_weight = sum(weights.values())
    if total_cents < 0 or any(weight < 0 for weight in weights.values()):
        raise ValueError("an allocation shares a non-negative total over non-negative weights")
    if total_weight == 0:
        if total_cents:
            raise ValueError("no weight to allocate over")
        return dict.fromkeys(weights, 0)
    keys = sorted(weights)
    floors, remainders = [], []
    for key in keys:
        share, remainder = divmod(total_cents * weights[key], total_weight)
        floors.append(share)
        # Remainders share the denominator W, so comparing numerators compares fractions.
        remainders.append(remainder)
    leftover = total_cents - sum(floors)
    # A stable sort of keys already in order: equal remainders stay in key order.
    for position in sorted(range(len(keys)), key=remainders.__getitem__, reverse=True)[:leftover]:
        floors[position] += 1
    return dict(zip(keys, floors, strict=True))


# -- billing's view of the facts ----------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """A convention as billing knows it: ``costs`` maps each application (amendments
    included) to its annual global cost, ``None`` when never billed (open data)."""

    id: object
    period_start: date
    period_end: date
    population_vintage: int | None
    members: frozenset
    costs: dict = field(default_factory=dict)

    def covers(self, year):
        return self.period_start <= date(year, 1, 1) <= self.period_end


def population_vintage(year, convention):
    """Art. 4: the vintage whose populations bill ``year``, fixed by the convention or not."""
    return population_vintage_for(year, convention.population_vintage)


# -- Annex 1 (Art. 4) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationShares:
    application: str
    annual_cost: Decimal
    metropole_share: Decimal
    per_inhabitant: Decimal
    subscribed_share: Decimal
    unsubscribed_share: Decimal
    shares: dict  # INSEE code → that member's share in cents, whether it subscribes or not


@dataclass(frozen=True)
class Annex:
    year: int
    convention: object
    population_vintage: int
    total_population: int
    applications: tuple


def annex(year, convention, populations, subscribers):
    """Annex 1 for ``year``: each billed application's annual cost allocated once over the
    Metropole (weight: the total population of the members) and each member (its population).

    The Metropole pays its allocated share, its half (Art. 4); each subscribing commune pays
    its own share; the share of a member that does not subscribe, or has left, is left to the
    Metropole (``unsubscribed_share``). Open data (cost ``None``) is never billed.
    ``populations`` are the members' populations of the year's vintage; ``subscribers`` maps
    each application to the communes subscribed on 1 January.
    """
    vintage = population_vintage(year, convention)
    missing = sorted(convention.members - populations.keys())
    if missing:
        raise AnnexUnavailable(
            f"Populations of vintage {vintage} are missing for {len(missing)} member communes."
        )
    member_populations = {insee: populations[insee] for insee in sorted(convention.members)}
    total_population = sum(member_populations.values())
    if total_population == 0:
        raise AnnexUnavailable(f"The member communes have no population in vintage {vintage}.")
    weights = {**member_populations, METROPOLE: total_population}
    billed = sorted(
        (code for code, cost in convention.costs.items() if cost is not None),
        key=_CATALOGUE_ORDER.__getitem__,
    )
    applications = []
    for code in billed:
        cost = convention.costs[code]
        shares = allocate(to_cents(cost), weights)
        metropole_cents = shares.pop(METROPOLE)
        subscribed = subscribers.get(code, ())
        subscribed_cents = sum(shares[insee] for insee in subscribed if insee in shares)
        unsubscribed_cents = to_cents(cost) - metropole_cents - subscribed_cents
        metropole_share = from_cents(metropole_cents)
        applications.append(
            ApplicationShares(
                application=code,
                annual_cost=cost,
                metropole_share=metropole_share,
                per_inhabitant=((cost - metropole_share) / total_population).quantize(
                    PER_INHABITANT_STEP, rounding=ROUND_HALF_UP
                ),
                subscribed_share=from_cents(subscribed_cents),
                unsubscribed_share=from_cents(unsubscribed_cents),
                shares=shares,
            )
        )
    return Annex(year, convention.id, vintage, total_population, tuple(applications))


# -- titles (Art. 5 and 6) ----------------------------------------------------------------------


class Line(NamedTuple):
    application: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    vat_rate: Decimal
    vat_category: str


class Extra(NamedTuple):
    """Billable work outside the annual amounts (Art. 6)."""

    id: object
    commune: str
    year: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    recorded_at: object


@dataclass(frozen=True)
class Title:
    commune: str
    year: int
    lines: tuple
    total_net: Decimal
    total_vat: Decimal
    total: Decimal

    @property
    def due_by(self):
        return due_by(self.year)


def due_by(year):
    """Art. 5: a title is sent through Chorus Pro no later than 30 September of its year."""
    return date(year, 9, 30)


def share_description(application, year):
    return f"{_NAMES[application]}: participation {year} (Art. 4)"


def extra_amount(quantity, unit_price):
    return round_to_cent(quantity * unit_price)


def extra_line(extra):
    return Line(
        None,
        extra.description,
        extra.quantity,
        extra.unit_price,
        extra_amount(extra.quantity, extra.unit_price),
        extra.vat_rate,
        STANDARD_RATE,
    )


def totals(lines):
    """Net, VAT and total of ``lines``: VAT per rate on the sum of that rate's lines, half-up."""
    net_by_rate = {}
    for line in lines:
        net_by_rate[line.vat_rate] = net_by_rate.get(line.vat_rate, NO_VAT) + line.amount
    total_net = sum(net_by_rate.values(), NO_VAT)
    total_vat = sum(
        (round_to_cent(net * rate) for rate, net in net_by_rate.items() if rate), NO_VAT
    )
    return total_net, total_vat, total_net + total_vat


def title(commune, year, lines):
    """The title billing ``lines``; ``None`` when there is nothing to bill."""
    if not lines:
        return None
    return Title(commune, year, tuple(lines), *totals(lines))


def titles(year, shares, subscribers, extras=()):
    """Every commune's title for ``year``, computed in one pass: INSEE code → ``Title``.

    One line per application the commune subscribes to on 1 January (its share, outside the
    scope of VAT), then each extra of the year in the order given (VAT at its rate). A line of
    zero bills nothing and is left out; a commune with nothing to bill has no title.
    ``shares`` is Annex 1 (``annex``), or ``None`` when no convention covers the year.
    """
    lines = {}
    share_cents = {}
    one = Decimal(1)
    # Every subscribed commune × application makes a line: at 35,000 communes the NamedTuple's
    # own __new__ would be a third of the whole computation.
    new_line = tuple.__new__
    for application in shares.applications if shares else ():
        code = application.application
        description = share_description(code, year)
        subscribed = subscribers.get(code, ())
        for insee, cents in application.shares.items():
            if cents and insee in subscribed:
                amount = Decimal(cents) * CENT
                line = new_line(Line, (code, description, one, amount, amount, NO_VAT,
                                       OUTSIDE_SCOPE))
                if insee in lines:
                    lines[insee].append(line)
                    share_cents[insee] += cents
                else:
                    lines[insee] = [line]
                    share_cents[insee] = cents
    with_extras = set()
    for extra in extras:
        if extra.year == year:
            lines.setdefault(extra.commune, []).append(extra_line(extra))
            with_extras.add(extra.commune)
    computed = {}
    for insee in sorted(lines):
        own = lines[insee]
        if insee in with_extras:
            computed[insee] = title(insee, year, own)
        else:
            # Shares alone are outside the scope of VAT: their sum is the net and the total.
            net = from_cents(share_cents[insee])
            computed[insee] = Title(insee, year, tuple(own), net, NO_VAT, net)
    return computed


def needs_correction(issued_lines, current_lines):
    """Whether an issued title bills something other than what the facts now say."""
    # Lines are tuples of Decimals, which compare and hash by value: 1 and 1.00 are equal.
    return Counter(map(tuple, issued_lines)) != Counter(map(tuple, current_lines))


def credit_note_lines(lines):
    """The lines of a credit note cancelling a title: the same lines, amounts negated."""
    return tuple(
        line._replace(unit_price=-line.unit_price, amount=-line.amount) for line in lines
    )


def is_late(year, today):
    """Past 30 September of ``year`` (Art. 5)."""
    return today > due_by(year)


# -- the title's deadlines (Art. 5) -------------------------------------------------------------

CONTESTATION_JOURS_FRANCS = 8
PAYMENT_TERM_DAYS = 30
def contest_until(received_on):
    """Art. 5: the last day on which a commune may contest a title received on
    ``received_on``, by e-mail, within 8 *jours francs* after its reception.

    In a delay of *jours francs* neither the day that starts it (Code de procédure civile,
    art. 641) nor the day it ends counts (CE, 19 September 2014, n° 362568; CE, 29 December
    2006, n° 289818): the last valid day is reception + 9 days. A delay that would end on a
    Saturday, a Sunday or a public holiday is extended to the next working day (CPC, art.
    642). The day runs until midnight, Europe/Paris.
    """
    return next_working_day_from(received_on + timedelta(days=CONTESTATION_JOURS_FRANCS + 1))


def payment_due_on(notified_on):
    """Art. 5: payment is due within 30 days of the notification of the title (of the
    corrected title, once accepted, when the first one was contested and corrected).

    The day of notification does not count (CPC, art. 641); a due date that falls on a
    Saturday, a Sunday or a public holiday moves to the next working day (CPC, art. 642), in
    the commune's favour.
    """
    return next_working_day_from(notified_on + timedelta(days=PAYMENT_TERM_DAYS))
