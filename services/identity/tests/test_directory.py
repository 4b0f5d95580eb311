"""What the identity database does where the broker adds nothing: races between writers, the
housekeeping of the login throttle, the life of a citizen's account — sign-up, the link
that confirms the address, login, export and deletion — and a company's, signed up the same
way."""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select

from contracts.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from contracts.personal_data import email_digest
from servicekit import tables
from servicekit.testing_db import memory_session
from services.identity import directory, rules
from services.identity.models import (
    Account,
    Base,
    EmailVerification,
    LoginEvent,
    LoginThrottle,
    MailThrottle,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = {
    "username": "agent.laverune",
    "password": "twelve chars!",
    "role": "commune_agent",
    "commune": "34134",
}


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


class NoOutbox:
    def add(self, *args, **kwargs):
        raise AssertionError("a refused account must not be announced")


def test_a_username_taken_by_a_concurrent_writer_is_a_conflict_not_a_crash(session):
    def another_writer_takes_the_name(session, flush_context, instances):
        # Runs after create_account checked that the name was free and before its insert:
        # the window in which another identity process (or PostgreSQL session) commits it.
        session.connection().execute(
            insert(Account.__table__).values(
                id=uuid.uuid4(),
                username="Agent.Laverune",
                username_key="agent.laverune",
                password_hash="x",
                role="commune_agent",
                commune="34134",
                created_at=NOW,
            )
        )

    event.listen(session, "before_flush", another_writer_takes_the_name, once=True)
    with pytest.raises(Conflict):
        directory.create_account(session, NoOutbox(), AGENT, "bootstrap", NOW)


WINDOW = rules.FAILURE_WINDOW


@pytest.mark.parametrize(
    "failures, window_started_at, locked_until, kept",
    [
        (1, NOW - timedelta(minutes=1), None, True),
        # The next failure would still count with this one (see rules.after_failure).
        (4, NOW - WINDOW, None, True),
        (4, NOW - WINDOW - timedelta(seconds=1), None, False),
        (5, NOW - timedelta(minutes=5), NOW + timedelta(seconds=1), True),
        # A lock that ends now has ended; the next failure starts a new count.
        (5, NOW - timedelta(minutes=5), NOW, False),
        (5, NOW - timedelta(days=2), NOW - timedelta(days=1), False),
    ],
)
def test_pruning_forgets_only_names_whose_failures_no_longer_count(
    session, failures, window_started_at, locked_until, kept
):
    state = rules.ThrottleState(failures, window_started_at, locked_until)
    # What pruning forgets is what the rules would forget anyway.
    counts_still = rules.seconds_locked(state, NOW) > 0 or (
        rules.after_failure(state, NOW).failures == failures + 1
    )
    assert counts_still is kept
    session.add(
        LoginThrottle(
            subject_digest=rules.subject_digest("account", "agent.laverune"),
            failures=failures,
            window_started_at=window_started_at,
            locked_until=locked_until,
        )
    )
    session.flush()
    assert directory.prune_login_throttles(session, NOW) == (0 if kept else 1)
    assert len(session.scalars(select(LoginThrottle)).all()) == (1 if kept else 0)


class RecordingOutbox:
    def add(self, *args, **kwargs):
        pass


def test_a_right_password_checked_while_other_attempts_locked_the_name_is_still_refused(session):
    directory.create_account(session, RecordingOutbox(), AGENT, "bootstrap", NOW)
    right = {"username": AGENT["username"], "password": AGENT["password"]}
    attempt = directory.login_attempt(session, right)
    assert directory.login_refusal(session, attempt, NOW, "req-1") is None
    # While this attempt's argon2 runs outside any transaction, a sprayer locks the name.
    for _ in range(rules.MAX_FAILED_LOGINS):
        directory.record_login(session, attempt, False, NOW, "req-2")

    principal, error = directory.record_login(
        session, attempt, directory.secret_matches(attempt, right), NOW, "req-1"
    )

    assert principal is None
    assert isinstance(error, TooManyRequests)


def test_a_right_pair_found_by_a_stuffing_run_does_not_forgive_its_address(session):
    directory.create_account(session, RecordingOutbox(), AGENT, "bootstrap", NOW)
    address = "203.0.113.66"

    def log_in(username, matched):
        """An attempt whose secret was checked already: ``matched`` or not."""
        credentials = {"username": username, "password": "whatever was typed"}
        attempt = directory.login_attempt(session, credentials, address)
        return directory.record_login(session, attempt, matched, NOW, "req")

    for number in range(rules.MAX_FAILED_LOGINS_PER_ADDRESS - 1):
        assert isinstance(log_in(f"leaked.{number}", False)[1], Unauthorized)
    principal, _ = log_in(AGENT["username"], True)
    assert principal is not None
    assert isinstance(log_in("leaked.last", False)[1], Unauthorized)

    principal, error = log_in(AGENT["username"], True)
    assert principal is None
    assert isinstance(error, TooManyRequests)
    assert error.retry_after == rules.LOCKOUT.total_seconds()



# -- citizens ---------------------------------------------------------------------------------

ADA = {
    "email": "Ada.Lovelace@example.org",
    "password": "analytical engine 1843",
    "given_name": "Ada",
    "family_name": "Lovelace",
}
PUBLIC_URL = "https://services.montpellier3m.fr"


class Postbox:
    def __init__(self):
        self.mails = []

    def add(self, session, to, subject, text, headers=None):
        self.mails.append(Mail(to, subject, text))


@dataclass
class Mail:
    to: str
    subject: str
    text: str

    @property
    def token(self):
        (token,) = re.findall(r"email-verification\?token=([A-Za-z0-9_-]+)", self.text)
        return token


class Outbox:
    def __init__(self):
        self.events = []

    def add(self, session, event_type, data, occurred_at, commune=None):
        self.events.append((event_type.name, data))


def link_of(token):
    return f"{PUBLIC_URL}/api/v1/citizens/email-verification?token={token}"


@pytest.fixture
def postbox():
    return Postbox()


@pytest.fixture
def outbox():
    return Outbox()


def sign_up(session, outbox, postbox, citizen=ADA, now=NOW, role="citizen"):
    return directory.sign_up(session, outbox, postbox, role, citizen, "argon2-hash-of-it",
                             link_of, now)


def log_in(session, username, matched, now=NOW):
    attempt = directory.login_attempt(session, {"username": username, "password": "x"})
    return directory.record_login(session, attempt, matched and attempt.holder_id is not None,
                                  now, "req")


def test_signing_up_twice_makes_one_account_and_two_mails(session, outbox, postbox):
    first, created = sign_up(session, outbox, postbox)
    assert created
    again, created_again = sign_up(session, outbox, postbox,
                                   {**ADA, "email": "ada.lovelace@EXAMPLE.org",
                                    "given_name": "Mallory"})
    assert (again.id, created_again) == (first.id, False)

    accounts = session.scalars(select(Account)).all()
    assert [(a.username, a.email, a.email_key, a.role, a.given_name) for a in accounts] == [
        (ADA["email"], ADA["email"], "ada.lovelace@example.org", "citizen", "Ada")]
    assert accounts[0].email_verified_at is None
    verification, already = postbox.mails
    assert (verification.to, verification.subject) == (ADA["email"],
                                                       "Confirmez votre adresse e-mail")
    assert verification.text.count(link_of(verification.token)) == 1
    assert already.subject == "Vous avez déjà un compte"
    # Still unconfirmed: the notice carries a link of its own; never what the form said.
    assert already.token != verification.token
    assert "Mallory" not in already.text and "Ada" not in verification.text
    assert outbox.events == [("account.created",
                              {"account_id": first.id, "role": "citizen", "commune": None})]


def test_an_address_already_confirmed_is_told_to_log_in_with_no_link(
        session, outbox, postbox):
    sign_up(session, outbox, postbox)
    directory.verify_email(session, postbox.mails[0].token, NOW)
    sign_up(session, outbox, postbox)
    notice = postbox.mails[-1]
    assert notice.subject == "Vous avez déjà un compte"
    assert "email-verification" not in notice.text


def test_an_address_used_as_another_accounts_username_gets_no_second_account(
        session, outbox, postbox):
    directory.create_account(session, RecordingOutbox(),
                             {**AGENT, "username": "ada.lovelace@example.org"}, "bootstrap", NOW)
    _, created = sign_up(session, outbox, postbox)
    assert not created
    assert [mail.subject for mail in postbox.mails] == ["Vous avez déjà un compte"]


def test_a_link_confirms_the_address_once(session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    token = postbox.mails[0].token
    stored = session.scalars(select(EmailVerification)).one()
    assert stored.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert stored.expires_at == NOW + timedelta(hours=48)

    later = NOW + timedelta(hours=1)
    assert directory.verify_email(session, token, later).id == account.id
    assert account.email_verified_at == later
    with pytest.raises(NotFound, match="^token: "):
        directory.verify_email(session, token, later)
    with pytest.raises(NotFound, match="^token: "):
        directory.verify_email(session, "made-up", later)


@pytest.mark.parametrize("age, works", [(timedelta(hours=48) - timedelta(seconds=1), True),
                                        (timedelta(hours=48), False)])
def test_a_link_works_48_hours(session, outbox, postbox, age, works):
    sign_up(session, outbox, postbox)
    if works:
        directory.verify_email(session, postbox.mails[0].token, NOW + age)
    else:
        with pytest.raises(NotFound):
            directory.verify_email(session, postbox.mails[0].token, NOW + age)


def test_a_new_link_is_sent_only_to_an_address_waiting_for_confirmation(
        session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    assert directory.resend_verification(session, postbox, "ADA.lovelace@example.org",
                                         link_of, NOW) is account
    first, second = postbox.mails
    assert second.subject == "Confirmez votre adresse e-mail" and second.token != first.token
    # Either link works; once one has, both have stopped.
    directory.verify_email(session, second.token, NOW)
    with pytest.raises(NotFound):
        directory.verify_email(session, first.token, NOW)
    for address in ("ada.lovelace@example.org", "nobody@example.org"):
        assert directory.resend_verification(session, postbox, address, link_of,
                                             NOW) is None
    assert len(postbox.mails) == 2


def test_three_mails_an_hour_reach_an_address_and_no_more(session, outbox, postbox):
    for minute in range(5):
        sign_up(session, outbox, postbox, now=NOW + timedelta(minutes=minute))
    directory.resend_verification(session, postbox, ADA["email"], link_of,
                                  NOW + timedelta(minutes=30))
    assert len(postbox.mails) == 3
    directory.resend_verification(session, postbox, ADA["email"], link_of,
                                  NOW + timedelta(hours=1))
    assert len(postbox.mails) == 4
    # Only a digest of the address is kept to count.
    (throttle,) = session.scalars(select(MailThrottle)).all()
    assert "ada" not in throttle.subject_digest


def test_a_citizen_logs_in_once_their_address_is_confirmed(session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    principal, error = log_in(session, "ada.lovelace@example.org", matched=True)
    assert principal is None
    assert isinstance(error, Forbidden) and str(error).startswith(
        "Confirm your e-mail address first: ")
    # A wrong password is told nothing of the address.
    _, error = log_in(session, "ada.lovelace@example.org", matched=False)
    assert isinstance(error, Unauthorized)

    directory.verify_email(session, postbox.mails[0].token, NOW)
    principal, error = log_in(session, ADA["email"], matched=True)
    assert error is None
    assert principal == {"kind": "account", "id": str(account.id), "name": "Ada Lovelace",
                         "role": "citizen", "commune": None, "email": ADA["email"]}
    outcomes = [e.outcome for e in session.scalars(
        select(LoginEvent).order_by(LoginEvent.id))]
    assert outcomes == ["unverified", "rejected", "success"]


def test_deleting_a_citizen_erases_them_and_announces_it(session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    directory.resend_verification(session, postbox, ADA["email"], link_of, NOW)
    log_in(session, ADA["email"], matched=True)
    session.execute(insert(tables.mail_outbox).values(
        id=uuid.uuid4(), recipient=ADA["email"], subject="s", body="b", headers={},
        created_at=NOW, attempts=0, next_attempt_at=NOW))
    later = NOW + timedelta(days=3)

    deleted, deleted_now = directory.delete_citizen(session, outbox, account.id, later)

    assert (deleted.id, deleted_now) == (account.id, True)
    row = session.get(Account, account.id)
    assert (row.username, row.username_key) == (f"deleted-{account.id}",) * 2
    assert (row.email, row.email_key, row.given_name, row.family_name) == (None,) * 4
    assert row.deleted_at == later
    assert not rules.secret_matches(row.password_hash, ADA["password"])
    assert session.scalars(select(EmailVerification)).all() == []
    assert session.scalars(select(MailThrottle)).all() == []
    assert session.execute(select(tables.mail_outbox)).all() == []
    assert outbox.events[-1] == ("account.deleted", {
        "account_id": account.id, "role": "citizen", "email_digest": email_digest(ADA["email"])})
    # The audit keeps the attempts, by account id.
    assert [e.principal_id for e in session.scalars(select(LoginEvent))] == [
        str(account.id)]
    # No way in any more, and no account to speak for.
    assert directory.login_attempt(
        session, {"username": ADA["email"], "password": "x"}).holder_id is None
    with pytest.raises(NotFound):
        directory.principal(session, "account", str(account.id))
    with pytest.raises(NotFound):
        directory.export_account(session, account.id)
    # Deleting again changes nothing and announces nothing.
    assert directory.delete_citizen(session, outbox, account.id, later)[1] is False
    assert [name for name, _ in outbox.events] == ["account.created", "account.deleted"]
    # The address is free for a new account.
    assert sign_up(session, outbox, postbox, now=later)[1] is True


def test_only_a_citizens_account_is_deleted_by_its_holder(session):
    agent = directory.create_account(session, RecordingOutbox(), AGENT, "bootstrap",
                                     NOW)
    with pytest.raises(Forbidden):
        directory.delete_citizen(session, NoOutbox(), agent.id, NOW)


def test_the_export_holds_the_account_and_its_own_logins(session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    directory.create_account(session, RecordingOutbox(), AGENT, "bootstrap", NOW)
    log_in(session, AGENT["username"], matched=True)
    log_in(session, ADA["email"], matched=False, now=NOW + timedelta(minutes=1))
    log_in(session, ADA["email"], matched=True, now=NOW + timedelta(minutes=2))

    export = directory.export_account(session, account.id)

    assert export["account"] == {
        "id": account.id, "email": ADA["email"], "given_name": "Ada",
        "family_name": "Lovelace", "email_verified": False, "created_at": NOW,
        "username": ADA["email"], "role": "citizen", "commune": None,
        "email_verified_at": None}
    assert [(e.outcome, e.principal_id) for e in export["logins"]] == [
        ("unverified", str(account.id)), ("rejected", str(account.id))]


def test_pruning_forgets_expired_links_and_past_hours_counts(session, outbox, postbox):
    sign_up(session, outbox, postbox)
    assert directory.prune_sign_up_leftovers(session, NOW + timedelta(minutes=59)) == 0
    assert directory.prune_sign_up_leftovers(session, NOW + timedelta(hours=1)) == 1
    # An expired link still dates its sign-up for a week (delete_unconfirmed_sign_ups).
    week_after_expiry = NOW + timedelta(hours=48) + directory.UNCONFIRMED_SIGN_UP_GRACE
    assert directory.prune_sign_up_leftovers(session, week_after_expiry) == 0
    assert directory.prune_sign_up_leftovers(session, week_after_expiry + SECOND) == 1
    assert session.scalars(select(EmailVerification)).all() == []


# -- retention

SECOND = timedelta(seconds=1)
LINK_EXPIRED = NOW + rules.VERIFICATION_LIFETIME
GRACE = directory.UNCONFIRMED_SIGN_UP_GRACE


def mail_kept_to(session, address):
    session.execute(insert(tables.mail_outbox).values(
        id=uuid.uuid4(), recipient=address, subject="s", body="b", headers={}, created_at=NOW,
        attempts=1, next_attempt_at=NOW, sent_at=NOW))


def everything_of(session, account_id):
    """What an account leaves behind: its row, links, throttles and the mails to it."""
    return {
        "account": session.get(Account, account_id) is not None,
        "links": len(session.scalars(select(EmailVerification)).all()),
        "mail throttles": len(session.scalars(select(MailThrottle)).all()),
        "login throttles": len(session.scalars(select(LoginThrottle)).all()),
        "mails": len(session.execute(select(tables.mail_outbox)).all()),
    }


@pytest.mark.parametrize("role, resent_after, deleted_at, deleted", [
    ("citizen", None, LINK_EXPIRED + GRACE - SECOND, False),
    ("citizen", None, LINK_EXPIRED + GRACE + SECOND, True),
    ("company", None, LINK_EXPIRED + GRACE + SECOND, True),
    # A new link asked for on day 5 expires on day 7: the week runs from then.
    ("citizen", timedelta(days=5), LINK_EXPIRED + GRACE + SECOND, False),
    ("citizen", timedelta(days=5), NOW + timedelta(days=7) + GRACE - SECOND, False),
    ("citizen", timedelta(days=5), NOW + timedelta(days=7) + GRACE + SECOND, True),
], ids=["a second before the week", "a second after", "a company's",
        "resent: the first week is not the end", "resent: a second before its week",
        "resent: a second after"])
def test_a_sign_up_never_confirmed_is_deleted_whole_a_week_after_its_link_expired(
    session, outbox, postbox, role, resent_after, deleted_at, deleted
):
    holder = ADA if role == "citizen" else LEZ
    account, _ = sign_up(session, outbox, postbox, holder, role=role)
    log_in(session, holder["email"], matched=False)
    mail_kept_to(session, holder["email"])
    if resent_after:
        directory.resend_verification(session, postbox, holder["email"], link_of,
                                      NOW + resent_after)
    # Someone else's mail stays whatever happens.
    mail_kept_to(session, "someone.else@example.org")
    for moment in (NOW + timedelta(hours=1), deleted_at):
        directory.prune_sign_up_leftovers(session, moment)

    assert directory.delete_unconfirmed_sign_ups(session, deleted_at) == int(deleted)

    left = everything_of(session, account.id)
    if deleted:
        assert left == {"account": False, "links": 0, "mail throttles": 0,
                        "login throttles": 0, "mails": 1}
    else:
        assert left["account"] and left["links"] >= 1 and left["mails"] == 2
    # The attempts on it stay, until their own retention.
    assert session.scalars(select(LoginEvent.outcome)).all() == ["rejected"]


def test_confirmed_and_created_accounts_are_never_deleted_as_unconfirmed(
        session, outbox, postbox):
    confirmed, _ = sign_up(session, outbox, postbox)
    directory.verify_email(session, postbox.mails[0].token, NOW)
    agent = directory.create_account(session, outbox, AGENT, "admin-id", NOW)

    assert directory.delete_unconfirmed_sign_ups(session, NOW + timedelta(days=3650)) == 0
    assert session.get(Account, confirmed.id) and session.get(Account, agent.id)


@pytest.mark.parametrize("age, forgotten", [
    (directory.LOGIN_EVENTS_RETENTION - SECOND, False),
    (directory.LOGIN_EVENTS_RETENTION + SECOND, True),
], ids=["a second before a year", "a second after"])
def test_login_attempts_are_deleted_after_a_year(session, age, forgotten):
    log_in(session, "agent.laverune", matched=False, now=NOW)

    assert directory.forget_old_login_events(session, NOW + age) == int(forgotten)
    assert len(session.scalars(select(LoginEvent)).all()) == int(not forgotten)


# -- companies --------------------------------------------------------------------------------

LEZ = {
    "email": "Appels.Offres@travaux-du-lez.example.fr",
    "password": "a long enough secret",
    "company_name": "Travaux du Lez",
    "siret": "73282932000074",
    "contact_name": "Camille Roux",
}


def sign_up_company(session, outbox, postbox, company=LEZ, now=NOW):
    return sign_up(session, outbox, postbox, company, now, role="company")


def test_a_company_signs_up_as_a_citizen_does_and_logs_in_once_confirmed(
        session, outbox, postbox):
    account, created = sign_up_company(session, outbox, postbox)

    assert created
    row = session.get(Account, account.id)
    assert (row.role, row.commune, row.username, row.email_key) == (
        "company", None, LEZ["email"], LEZ["email"].lower())
    assert (row.company_name, row.siret, row.contact_name) == (
        "Travaux du Lez", "73282932000074", "Camille Roux")
    assert (row.given_name, row.family_name) == (None, None)
    assert outbox.events == [("account.created",
                              {"account_id": account.id, "role": "company", "commune": None})]
    (mail,) = postbox.mails
    assert (mail.to, mail.subject) == (LEZ["email"], "Confirmez votre adresse e-mail")
    assert "Un compte entreprise a été créé" in mail.text
    # Nothing the form said: the address may not be the company's.
    for typed in ("Travaux du Lez", "73282932000074", "Camille", "Roux"):
        assert typed not in mail.text

    principal, error = log_in(session, LEZ["email"], matched=True)
    assert principal is None
    assert isinstance(error, Forbidden) and str(error).startswith(
        "Confirm your e-mail address first: ")
    directory.verify_email(session, mail.token, NOW)
    principal, error = log_in(session, "appels.offres@travaux-du-lez.example.fr", matched=True)
    assert error is None
    assert principal == {"kind": "account", "id": str(account.id), "name": "Travaux du Lez",
                         "role": "company", "commune": None, "email": LEZ["email"],
                         "siret": "73282932000074"}
    assert directory.userinfo(session, "account", str(account.id)) == {
        "sub": str(account.id), "email": LEZ["email"], "email_verified": True,
        "name": "Travaux du Lez"}


def test_an_address_has_one_account_whether_it_signs_up_as_a_citizen_or_a_company(
        session, outbox, postbox):
    company, _ = sign_up_company(session, outbox, postbox)
    again, created = sign_up_company(session, outbox, postbox,
                                     {**LEZ, "siret": "35600000000048"})
    assert (again.id, created) == (company.id, False)
    as_citizen, created = sign_up(session, outbox, postbox, {**ADA, "email": LEZ["email"]})
    assert (as_citizen.id, created) == (company.id, False)

    assert [(a.role, a.siret) for a in session.scalars(select(Account))] == [
        ("company", "73282932000074")]
    assert [mail.subject for mail in postbox.mails] == [
        "Confirmez votre adresse e-mail", "Vous avez déjà un compte", "Vous avez déjà un compte"]
    # The notice names the account the address has, not the one asked for.
    assert "a déjà un compte entreprise" in postbox.mails[2].text
    assert [name for name, _ in outbox.events] == ["account.created"]


def test_a_new_link_for_a_company_is_a_companys_mail(session, outbox, postbox):
    account, _ = sign_up_company(session, outbox, postbox)
    assert directory.resend_verification(session, postbox, LEZ["email"], link_of,
                                         NOW) is account
    assert "Un compte entreprise a été créé" in postbox.mails[-1].text


def test_a_company_does_not_delete_its_account(session, outbox, postbox):
    account, _ = sign_up_company(session, outbox, postbox)
    with pytest.raises(Forbidden):
        directory.delete_citizen(session, outbox, account.id, NOW)
    assert session.get(Account, account.id).deleted_at is None
    assert [name for name, _ in outbox.events] == ["account.created"]


def test_a_citizens_principal_has_no_siret(session, outbox, postbox):
    account, _ = sign_up(session, outbox, postbox)
    assert "siret" not in directory.principal(session, "account", str(account.id))
