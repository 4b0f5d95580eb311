from nameko.dependency_providers import Config
from nameko.timer import timer
from sqlalchemy.exc import IntegrityError

from contracts.audit import AuditPageSchema, AuditQuerySchema
from contracts.events import AUDIT_RECORDED
from contracts.identity import (
    CITIZEN,
    COMPANY,
    AccountSchema,
    EmailVerificationSchema,
    EmailVerifiedSchema,
    IssuedApiClientSchema,
    LoginEventSchema,
    MailAcceptedSchema,
    NewAccountSchema,
    NewApiClientSchema,
    NewCitizenSchema,
    NewCompanySchema,
    OpenIdConfigurationSchema,
    PrincipalSchema,
    TokenRequestSchema,
    TokenSchema,
    UserInfoSchema,
    VerificationResendSchema,
    token_issuer,
)
from contracts.personal_data import CitizenSchema, IdentityExportSchema
from servicekit.config import public_url
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import current_correlation_id, get_logger
from servicekit.outbox import Outbox
from servicekit.postbox import Postbox
from servicekit.service import CommunsService, rpc
from servicekit.validation import load
from services.identity import audit, directory, rules
from services.identity.bootstrap import FirstAdmin
from services.identity.models import Base

log = get_logger(__name__)

# The same answer whatever the address: it must not tell which ones have accounts.
SIGN_UP_ACCEPTED = (
    "If this address can receive mail, a message is on its way: open its link within 48 "
    "hours to confirm the address, then log in with it."
)
RESEND_ACCEPTED = (
    "If this address has an account waiting for confirmation, a new link is on its way."
)
# The link of every sign-up, a citizen's or a company's: the gateway's one route for it.
VERIFICATION_PATH = "/api/v1/citizens/email-verification"


class IdentityService(CommunsService):
    name = "identity"
    config = Config()
    db = Database(Base.metadata)
    outbox = Outbox()
    postbox = Postbox()
    first_admin = FirstAdmin()

    @property
    def issuer(self):
        """The tokens' ``iss``: the suite's public URL, which the gateway checks too."""
        return token_issuer(public_url(self.config))

    def _verification_link(self, token):
        return f"{self.issuer}{VERIFICATION_PATH}?token={token}"

    # An address is personal data: kept out of logs, and stored only as a digest.
    @rpc(sensitive_arguments=("credentials.password", "credentials.client_secret",
                              "client_address"))
    def issue_token(self, credentials, client_address=None):
        """A token for the credentials; ``client_address``, where the gateway received them
        from, is locked too after many failures on whatever names (credential stuffing)."""
        credentials = load(TokenRequestSchema(), credentials)
        correlation_id = current_correlation_id()
        with self.db.transaction() as session:
            attempt = directory.login_attempt(session, credentials, client_address)
            error = directory.login_refusal(session, attempt, self.clock.now(), correlation_id)
        if not error:
            matched = directory.secret_matches(attempt, credentials)
            now = self.clock.now()
            for last_try in (False, True):
                try:
                    with self.db.transaction() as session:
                        principal, error = directory.record_login(
                            session, attempt, matched, now, correlation_id
                        )
                        if principal:
                            key = directory.signing_key(session, now)
                    break
                except IntegrityError:
                    # Another failure from the same address or on the same name created its
                    # throttle row first (PostgreSQL): counted again on that row, not a 500.
                    if last_try:
                        raise
        if error:
            log.info("login.refused", reason=type(error).__name__)
            raise error
        log.info("login.succeeded", principal_kind=principal["kind"], principal_id=principal["id"])
        return TokenSchema().dump(rules.issue_token(key, principal, now, self.issuer))

    @timer(interval=3600)
    def prune_login_throttles(self):
        with self.db.transaction() as session:
            pruned = directory.prune_login_throttles(session, self.clock.now())
        log.info("login.throttles_pruned", count=pruned)

    @timer(interval=3600)
    def prune_sign_up_leftovers(self):
        with self.db.transaction() as session:
            pruned = directory.prune_sign_up_leftovers(session, self.clock.now())
        log.info("sign_up.leftovers_pruned", count=pruned)

    @timer(interval=3600)
    def keep_retention(self):
        """Deletes the sign-ups never confirmed, and the login attempts and audit entries
        past their retention."""
        now = self.clock.now()
        with self.db.transaction() as session:
            sign_ups = directory.delete_unconfirmed_sign_ups(session, now)
            logins = directory.forget_old_login_events(session, now)
            audit_entries = audit.purge(session, now)
        log.info("identity.retention_kept", unconfirmed_sign_ups=sign_ups, login_events=logins,
                 audit_entries=audit_entries)

    # -- citizens and companies sign up ----------------------------------------------------

    @rpc(sensitive_arguments=("new_citizen.password", "new_citizen.email",
                              "new_citizen.given_name", "new_citizen.family_name"))
    def sign_up_citizen(self, new_citizen):
        """A citizen's account, its address to confirm by the link e-mailed to it; an address
        with an account already is told so by e-mail. The answer is the same either way."""
        return self._sign_up(CITIZEN, load(NewCitizenSchema(), new_citizen))

    # A sole trader's company name and SIRET name a person: kept out of logs as the rest.
    @rpc(sensitive_arguments=("new_company.password", "new_company.email",
                              "new_company.company_name", "new_company.siret",
                              "new_company.contact_name"))
    def sign_up_company(self, new_company):
        """A company's account (its SIRET checked), signed up as a citizen's is: its address
        to confirm by the link e-mailed to it, the same answer whatever the address."""
        return self._sign_up(COMPANY, load(NewCompanySchema(), new_company))

    def _sign_up(self, role, new_holder):
        # Hashed for every sign-up, outside the transaction: a known address costs the time
        # of a new one, and argon2 does not hold the database.
        password_hash = rules.hash_secret(new_holder["password"])
        try:
            with self.db.transaction() as session:
                account, created = directory.sign_up(
                    session, self.outbox, self.postbox, role, new_holder, password_hash,
                    self._verification_link, self.clock.now(),
                )
        except directory.AddressTaken:
            log.info(f"{role}.sign_up_raced")
        else:
            event = "signed_up" if created else "sign_up_for_existing_account"
            log.info(f"{role}.{event}", account_id=str(account.id))
        return MailAcceptedSchema().dump({"detail": SIGN_UP_ACCEPTED})

    @rpc(sensitive_arguments=("token",))
    def verify_email(self, token):
        """Confirms the address whose link carries ``token``: ``{"email", "verified"}``."""
        token = load(EmailVerificationSchema(), {"token": token})["token"]
        with self.db.transaction() as session:
            account = directory.verify_email(session, token, self.clock.now())
            answer = {"email": account.email, "verified": True}
        log.info(f"{account.role}.email_verified", account_id=str(account.id))
        return EmailVerifiedSchema().dump(answer)

    @rpc(sensitive_arguments=("request.email",))
    def resend_verification(self, request):
        """A new link for an address waiting for confirmation; the same answer otherwise."""
        email = load(VerificationResendSchema(), request)["email"]
        with self.db.transaction() as session:
            account = directory.resend_verification(
                session, self.postbox, email, self._verification_link, self.clock.now()
            )
        if account is not None:
            log.info(f"{account.role}.verification_resent", account_id=str(account.id))
        return MailAcceptedSchema().dump({"detail": RESEND_ACCEPTED})

    @rpc
    def delete_citizen(self, account_id):
        """Erases the citizen's personal data and announces ``account.deleted``; they can no
        longer log in. Deleting again changes nothing."""
        with self.db.transaction() as session:
            account, deleted_now = directory.delete_citizen(
                session, self.outbox, account_id, self.clock.now()
            )
        if deleted_now:
            log.info("citizen.account_deleted", account_id=str(account.id))

    @rpc(sensitive_arguments=("citizen",))
    def export_personal_data(self, citizen):
        """Identity's part of a citizen's export (GDPR art. 15): the account, its logins, the
        mails kept to its address."""
        citizen = load(CitizenSchema(), citizen)
        with self.db.transaction() as session:
            return IdentityExportSchema().dump(
                directory.export_account(session, citizen["account_id"]))

    # -- OpenID Connect ---------------------------------------------------------------------

    @rpc
    def openid_configuration(self):
        return OpenIdConfigurationSchema().dump(rules.openid_configuration(self.issuer))

    @rpc
    def userinfo(self, kind, principal_id):
        with self.db.transaction() as session:
            return UserInfoSchema().dump(directory.userinfo(session, kind, principal_id))

    @rpc
    def public_keys(self):
        with self.db.transaction() as session:
            directory.signing_key(session, self.clock.now())
            return {"keys": directory.published_keys(session, self.clock.now())}

    @rpc(sensitive_arguments=("new_account.password",))
    def create_account(self, new_account, created_by):
        new_account = load(NewAccountSchema(), new_account)
        with self.db.transaction() as session:
            account = directory.create_account(
                session, self.outbox, new_account, created_by, self.clock.now()
            )
        log.info("account.created", account_id=str(account.id), role=account.role)
        return AccountSchema().dump(directory.account_view(account))

    @rpc
    def accounts_of_commune(self, commune):
        with self.db.transaction() as session:
            accounts = directory.accounts_of_commune(session, commune)
            return AccountSchema(many=True).dump([directory.account_view(a) for a in accounts])

    @rpc
    def get_principal(self, kind, principal_id):
        with self.db.transaction() as session:
            return PrincipalSchema().dump(directory.principal(session, kind, principal_id))

    @rpc
    def create_api_client(self, new_client, created_by):
        new_client = load(NewApiClientSchema(), new_client)
        with self.db.transaction() as session:
            client, secret = directory.create_api_client(
                session, new_client, created_by, self.clock.now()
            )
        log.info("api_client.created", client_id=client.client_id, commune=client.commune)
        return IssuedApiClientSchema().dump(
            {**directory.client_view(client), "client_secret": secret}
        )

    @rpc
    def login_events(self, limit=100):
        with self.db.transaction() as session:
            events = directory.login_events(session, max(1, min(int(limit), 1000)))
            return LoginEventSchema(many=True).dump(events)

    # -- the gateway's audit trail ------------------------------------------------------------

    @event_handler(AUDIT_RECORDED.producer, AUDIT_RECORDED.name)
    @idempotent
    def on_audit_recorded(self, session, event):
        audit.record(session, event.data)

    @rpc
    def audit_trail(self, query):
        query = load(AuditQuerySchema(), query)
        with self.db.transaction() as session:
            return AuditPageSchema().dump(audit.page(session, query))
