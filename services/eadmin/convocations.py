"""The delay between a council's convocation and its session, in *jours francs* (rule R1).

A delay in *jours francs* counts whole days: neither the day the convocation is sent nor the day
of the session counts, and Saturdays, Sundays and public holidays count like any other day (the
delay is not extended to a working day, unlike a procedural deadline). Sent on a Monday for a
Friday session: Tuesday, Wednesday and Thursday, 3 jours francs; sent on a Thursday for a
Monday session: Friday, Saturday and Sunday, 3 as well.

Dates are the legal time's (Europe/Paris) calendar days: ``sent_on`` is the day the convocation
left (dematerialised, L2121-10: the sending, not its reading, starts the delay), ``session_on``
the day of the session. The Métropole's council follows the rules of communes of 3,500
inhabitants and more (L5211-1). Pure functions: the service records sendings and read receipts.
"""

import secrets
from datetime import timedelta

POPULATION_THRESHOLD = 3_500
SMALL_COMMUNE_JOURS_FRANCS = 3
JOURS_FRANCS = 5
URGENT_JOURS_FRANCS = 1


def minimum_jours_francs(population, urgent):
    """The fewest jours francs between sending and session.

    CGCT L2121-11: 3 jours francs at least in communes of fewer than 3,500 inhabitants;
    L2121-12: 5 jours francs at least from 3,500 inhabitants. Both: in urgency the mayor may
    shorten the delay, never below 1 jour franc (the council then rules on the urgency at the
    opening of the session).
    """
    _check_population(population)
    if urgent:
        return URGENT_JOURS_FRANCS
    return SMALL_COMMUNE_JOURS_FRANCS if population < POPULATION_THRESHOLD else JOURS_FRANCS


def jours_francs_between(sent_on, session_on):
    """The whole days strictly between the sending day and the session day (negative when the
    session is not after the sending)."""
    return (session_on - sent_on).days - 1


def is_lawful(sent_on, session_on, population, urgent):
    """Whether a convocation sent on ``sent_on`` leaves the jours francs the law requires
    before a session on ``session_on`` (CGCT L2121-11, L2121-12)."""
    return jours_francs_between(sent_on, session_on) >= minimum_jours_francs(population, urgent)


def earliest_session_on(sent_on, population, urgent):
    """The first day a session may lawfully be held when convened on ``sent_on``: the sending
    day, then the required jours francs, then the session day (CGCT L2121-11, L2121-12)."""
    return sent_on + timedelta(days=minimum_jours_francs(population, urgent) + 1)


def requires_explanatory_note(population):
    """CGCT L2121-12: in communes of 3,500 inhabitants and more, a *note explicative de
    synthèse* on the matters submitted to deliberation goes with the convocation (urgency
    shortens the delay, not this duty)."""
    _check_population(population)
    return population >= POPULATION_THRESHOLD


def new_link_token():
    """The secret of a councillor's personal link to the session's documents: 32 random bytes,
    URL-safe (43 characters). Each opening of the link is a read receipt (R1.5)."""
    return secrets.token_urlsafe(32)


def _check_population(population):
    if isinstance(population, bool) or not isinstance(population, int) or population < 0:
        raise ValueError(f"population: expected a count of inhabitants, got {population!r}")
