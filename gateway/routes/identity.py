"""Routes of identity: tokens and the keys that verify them, the OpenID Connect discovery
document and UserInfo, accounts and API clients, the login audit; the citizen's own
account — sign-up, the link that confirms the address, the export of their data (GDPR
art. 15 and 20) and its deletion (art. 17); and the company's sign-up, with the same link."""

from datetime import UTC, datetime

import eventlet
from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response

from contracts.identity import (
    CITIZEN,
    METROPOLE_ADMIN,
    AccountSchema,
    EmailVerificationSchema,
    EmailVerifiedSchema,
    IssuedApiClientSchema,
    JwksSchema,
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
)
from contracts.personal_data import HOLDERS, PersonalDataExportSchema
from gateway.http import route
from gateway.limits import caller_address

ME = "/api/v1/me"
CITIZENS = "/api/v1/citizens"
COMPANIES = "/api/v1/companies"
# The link of every sign-up mail, a citizen's or a company's.
EMAIL_VERIFICATION = f"{CITIZENS}/email-verification"


class LoginEventsQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class IdentityRoutes:
    # -- tokens and OpenID Connect

    @route("POST", "/api/v1/auth/token", summary="Exchange credentials for an access token",
           tag="identity", body=TokenRequestSchema, response=TokenSchema, public=True,
           errors=(401, 403, 429))
    def issue_token(self, request, body, **_):
        # Identity locks an address that fails on many names: an IPv6 one by its /64, as the
        # rate limit counts it.
        return self.rpc("identity", "issue_token", body,
                        client_address=caller_address(self.rate_limits.address_of(request)))

    @route("GET", "/.well-known/jwks.json", summary="Public keys that verify access tokens",
           tag="identity", response=JwksSchema, public=True)
    def jwks(self, request, **_):
        return self.rpc("identity", "public_keys")

    @route("GET", "/.well-known/openid-configuration",
           summary="OpenID Connect discovery: the tokens' issuer, its keys and endpoints, for "
                   "commune portals that rely on its tokens",
           tag="identity", response=OpenIdConfigurationSchema, public=True)
    def openid_configuration(self, request, **_):
        return self.rpc("identity", "openid_configuration")

    @route("GET", ME, summary="Who the token speaks for", tag="identity",
           response=PrincipalSchema, errors=(404,))
    def me(self, request, principal, **_):
        return self.rpc("identity", "get_principal", principal.kind, principal.id)

    @route("GET", f"{ME}/userinfo",
           summary="OpenID Connect UserInfo: a citizen's address and names, a company's "
                   "address and name, anyone else's username",
           tag="identity", response=UserInfoSchema, errors=(404,))
    def userinfo(self, request, principal, **_):
        return self.rpc("identity", "userinfo", principal.kind, principal.id)

    # -- the citizen's own account

    @route("POST", CITIZENS,
           summary="Sign up as a citizen: one account for the 31 communes, usable once the "
                   "link e-mailed to the address has been opened",
           tag="identity", body=NewCitizenSchema, response=MailAcceptedSchema, status=202,
           public=True)
    def sign_up_citizen(self, request, body, **_):
        # 202 whatever the address: the answer does not tell which ones have accounts.
        return self.rpc("identity", "sign_up_citizen", body)

    @route("POST", COMPANIES,
           summary="Sign up as a company (its SIRET, Luhn key checked): one account to withdraw "
                   "consultation documents and bid, usable once the link e-mailed to the "
                   "address has been opened",
           tag="identity", body=NewCompanySchema, response=MailAcceptedSchema, status=202,
           public=True)
    def sign_up_company(self, request, body, **_):
        # 202 whatever the address, as for citizens.
        return self.rpc("identity", "sign_up_company", body)

    @route("GET", EMAIL_VERIFICATION,
           summary="Confirm a citizen's or a company's e-mail address: the link of the e-mail "
                   "sent at sign-up",
           tag="identity", query=EmailVerificationSchema, response=EmailVerifiedSchema,
           public=True, errors=(404,))
    def verify_citizen_email(self, request, query, **_):
        return self.rpc("identity", "verify_email", query["token"])

    @route("POST", EMAIL_VERIFICATION,
           summary="Send a new confirmation link to an address waiting for confirmation",
           tag="identity", body=VerificationResendSchema, response=MailAcceptedSchema,
           status=202, public=True)
    def resend_citizen_verification(self, request, body, **_):
        return self.rpc("identity", "resend_verification", body)

    @route("GET", f"{ME}/export",
           summary="Everything the suite holds of the citizen, from every service that holds "
                   "any: account and logins, requests, contributions and votes, alert "
                   "registrations, the mails kept (GDPR art. 15). Whole or not at all: a "
                   "service that does not answer makes it a 503",
           tag="identity", response=PersonalDataExportSchema, roles=(CITIZEN,), errors=(404,),
           audited=True)
    def export_my_data(self, request, principal, **_):
        who = self.rpc("identity", "get_principal", principal.kind, principal.id)
        citizen = {"account_id": principal.id, "email": who["email"]}
        pool = eventlet.GreenPool(len(HOLDERS))
        parts = pool.imap(lambda service: (
            service, self.rpc(service, "export_personal_data", citizen)), HOLDERS)
        return {"generated_at": datetime.now(UTC).isoformat(), **dict(parts)}

    @route("DELETE", ME,
           summary="Delete the citizen's account: personal data erased, requests anonymised "
                   "for the communes' records (GDPR art. 17)",
           tag="identity", status=204, roles=(CITIZEN,), errors=(404,), audited=True)
    def delete_my_account(self, request, principal, **_):
        self.rpc("identity", "delete_citizen", principal.id)
        return Response(status=204)

    # -- accounts and API clients

    @route("POST", "/api/v1/accounts", summary="Create an account (Metropole admins)",
           tag="identity", body=NewAccountSchema, response=AccountSchema, status=201,
           roles=(METROPOLE_ADMIN,), errors=(409,))
    def create_account(self, request, principal, body, **_):
        account = self.rpc("identity", "create_account", body, created_by=principal.id)
        return account, {"Location": f"/api/v1/accounts/{account['id']}"}

    @route("POST", "/api/v1/api-clients",
           summary="Create an API client for a commune's system (Metropole admins)",
           tag="identity", body=NewApiClientSchema, response=IssuedApiClientSchema,
           status=201, roles=(METROPOLE_ADMIN,))
    def create_api_client(self, request, principal, body, **_):
        return self.rpc("identity", "create_api_client", body, created_by=principal.id)

    @route("GET", "/api/v1/communes/<insee>/accounts", summary="The accounts of a commune",
           tag="identity", response=AccountSchema, many=True)
    def commune_accounts(self, request, insee, **_):
        return self.rpc("identity", "accounts_of_commune", insee)

    @route("GET", "/api/v1/audit/logins", summary="Recent login attempts (Metropole admins)",
           tag="identity", query=LoginEventsQuerySchema, response=LoginEventSchema, many=True,
           roles=(METROPOLE_ADMIN,))
    def login_audit(self, request, query, **_):
        return self.rpc("identity", "login_events", query["limit"])
