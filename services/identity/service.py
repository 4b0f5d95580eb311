from nameko.timer import timer

from contracts.identity import (
    AccountSchema,
    IssuedApiClientSchema,
    LoginEventSchema,
    NewAccountSchema,
    NewApiClientSchema,
    PrincipalSchema,
    TokenRequestSchema,
    TokenSchema,
)
from servicekit.database import Database
from servicekit.logging import current_correlation_id, get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.validation import load
from services.identity import directory, rules
from services.identity.bootstrap import FirstAdmin
from services.identity.models import Base

log = get_logger(__name__)


class IdentityService(CommunsService):
    name = "identity"
    db = Database(Base.metadata)
    outbox = Outbox()
    first_admin = FirstAdmin()

    @rpc(sensitive_arguments=("credentials.password", "credentials.client_secret"))
    def issue_token(self, credentials):
        credentials = load(TokenRequestSchema(), credentials)
        correlation_id = current_correlation_id()
        with self.db.transaction() as session:
            attempt = directory.login_attempt(session, credentials)
            error = directory.login_refusal(session, attempt, self.clock.now(), correlation_id)
        if not error:
            matched = directory.secret_matches(attempt, credentials)
            now = self.clock.now()
            with self.db.transaction() as session:
                principal, error = directory.record_login(
                    session, attempt, matched, now, correlation_id
                )
                if principal:
                    key = directory.signing_key(session, now)
        if error:
            log.info("login.refused", reason=type(error).__name__)
            raise error
        log.info("login.succeeded", principal_kind=principal["kind"], principal_id=principal["id"])
        return TokenSchema().dump(rules.issue_token(key, principal, now))

    @timer(interval=3600)
    def prune_login_throttles(self):
        with self.db.transaction() as session:
            pruned = directory.prune_login_throttles(session, self.clock.now())
        log.info("login.throttles_pruned", count=pruned)

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
        return IssuedApiClientSchema().dump({**directory.client_view(client), "client_secret": secret})

    @rpc
    def login_events(self, limit=100):
        with self.db.transaction() as session:
            events = directory.login_events(session, max(1, min(int(limit), 1000)))
            return LoginEventSchema(many=True).dump(events)
