"""Payloads of the identity service: accounts, API clients, tokens and the login audit; the
citizen's account (sign-up, e-mail verification, export, deletion), the company's (sign-up
with its SIRET) and the OpenID Connect discovery document that lets commune portals rely on
identity's tokens."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from contracts.fields import InseeCode, Siret

METROPOLE_ADMIN = "metropole_admin"
COMMUNE_AGENT = "commune_agent"
CITIZEN = "citizen"
COMPANY = "company"
# The accessibility relay provider's interpreters: accounts a Metropole admin creates, of no
# commune, that take the relay's sessions from its queue.
RELAY_INTERPRETER = "relay_interpreter"
ROLES = (METROPOLE_ADMIN, COMMUNE_AGENT, CITIZEN, COMPANY, RELAY_INTERPRETER)

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$"
PASSWORD_MIN_LENGTH = 12
# RFC 5321: a path holds at most 256 octets, the address 254; 320 is the sum of the local
# part's and the domain's own limits, the column's width.
EMAIL_MAX_LENGTH = 320
# A citizen logs in with their e-mail address as username.
USERNAME_MAX_LENGTH = EMAIL_MAX_LENGTH
NAME_MAX_LENGTH = 100
COMPANY_NAME_MAX_LENGTH = 200


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class TokenRequestSchema(StrictSchema):
    """Either an account's username and password, or an API client's id and secret."""

    username = fields.String(validate=validate.Length(min=1, max=USERNAME_MAX_LENGTH),
                             metadata={"description": "a citizen's is their e-mail address"})
    password = fields.String(validate=validate.Length(min=1, max=256), load_only=True)
    client_id = fields.String(validate=validate.Length(min=1, max=64))
    client_secret = fields.String(validate=validate.Length(min=1, max=256), load_only=True)

    # ``one_kind_of_credentials``, as the OpenAPI document states it.
    openapi_rules = {"oneOf": [
        {"required": ["username", "password"],
         "not": {"anyOf": [{"required": ["client_id"]}, {"required": ["client_secret"]}]}},
        {"required": ["client_id", "client_secret"],
         "not": {"anyOf": [{"required": ["username"]}, {"required": ["password"]}]}},
    ]}

    @validates_schema
    def one_kind_of_credentials(self, credentials, **kwargs):
        account = {"username", "password"} & credentials.keys()
        client = {"client_id", "client_secret"} & credentials.keys()
        if account and client:
            raise ValidationError("Give a username and password, or a client id and secret.")
        wanted = (("username", "password") if account or not client
                  else ("client_id", "client_secret"))
        missing = {name: ["Missing data for required field."]
                   for name in wanted if name not in credentials}
        if missing:
            raise ValidationError(missing)


class TokenSchema(StrictSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


class NewAccountSchema(StrictSchema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(
            USERNAME_PATTERN,
            error="3 to 64 letters, digits or . _ @ + -, starting with a letter or digit.",
        ),
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=256),
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = InseeCode(load_default=None, allow_none=True)

    # ``commune_matches_role``, as the OpenAPI document states it.
    openapi_rules = {"oneOf": [
        {"properties": {"role": {"enum": [COMMUNE_AGENT]}, "commune": {"type": "string"}},
         "required": ["commune"]},
        {"properties": {"role": {"enum": [role for role in ROLES if role != COMMUNE_AGENT]},
                        "commune": {"type": "string", "nullable": True, "enum": [None]}}},
    ]}

    @validates_schema
    def commune_matches_role(self, account, **kwargs):
        if account.get("role") == COMMUNE_AGENT and not account.get("commune"):
            raise ValidationError({"commune": ["A commune agent belongs to one commune."]})
        if account.get("role") not in (COMMUNE_AGENT, None) and account.get("commune"):
            raise ValidationError({"commune": ["Only commune agents belong to a commune."]})


class AccountSchema(StrictSchema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = fields.String(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class NewApiClientSchema(StrictSchema):
    """A commune's own system (its finance software, its website) calling the API."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    commune = InseeCode(required=True)


class ApiClientSchema(StrictSchema):
    client_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    commune = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class IssuedApiClientSchema(ApiClientSchema):
    client_secret = fields.String(
        required=True, metadata={"description": "shown once, at creation; keep it safe"}
    )


class PrincipalSchema(StrictSchema):
    """Who a token speaks for: an account or an API client. A citizen's name is "Given
    Family" and ``email`` their address; a company's name is its company name, with its
    ``email`` and ``siret``. Principals without an address or a SIRET have no such key."""

    kind = fields.String(required=True, validate=validate.OneOf(("account", "api_client")))
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = fields.String(allow_none=True, required=True)
    email = fields.String(load_default=None, allow_none=True)
    siret = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "a company's SIRET"})


# What the login audit records of an attempt: ``unverified`` is a right password on a citizen's
# or a company's account whose e-mail address is not confirmed yet.
LOGIN_OUTCOMES = ("success", "rejected", "throttled", "unverified")


class LoginEventSchema(StrictSchema):
    """One login attempt. Never the secret; the account is known by its id only."""

    occurred_at = fields.AwareDateTime(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(LOGIN_OUTCOMES))
    principal_kind = fields.String(required=True)
    principal_id = fields.String(allow_none=True, required=True)
    correlation_id = fields.String(allow_none=True, required=True)


class JwksSchema(StrictSchema):
    keys = fields.List(fields.Dict(), required=True)


# -- citizens: one account for all 31 communes


class NewCitizenSchema(StrictSchema):
    """A citizen signing up; the account is usable once the e-mail address is confirmed."""

    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX_LENGTH))
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=256),
    )
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX_LENGTH))
    family_name = fields.String(required=True,
                                validate=validate.Length(min=1, max=NAME_MAX_LENGTH))


# -- companies: one account to answer the consultations of the Metropole and its communes


class NewCompanySchema(StrictSchema):
    """A company signing up, as a citizen does: the account is usable once the e-mail address
    is confirmed. Its SIRET names the establishment that withdraws documents and bids."""

    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX_LENGTH))
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=256),
    )
    company_name = fields.String(
        required=True, validate=validate.Length(min=1, max=COMPANY_NAME_MAX_LENGTH))
    siret = Siret(required=True)
    contact_name = fields.String(
        required=True, validate=validate.Length(min=1, max=COMPANY_NAME_MAX_LENGTH),
        metadata={"description": "the person who holds the account for the company"})


class CitizenSchema(StrictSchema):
    """A citizen's account as its holder sees it. The e-mail and names are None for a citizen
    account a Metropole admin created by username."""

    id = fields.UUID(required=True)
    email = fields.String(required=True, allow_none=True)
    given_name = fields.String(required=True, allow_none=True)
    family_name = fields.String(required=True, allow_none=True)
    email_verified = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class MailAcceptedSchema(StrictSchema):
    """The answer to a request that may send an e-mail: the same whether or not the address
    has an account, so that it tells nobody which addresses do."""

    detail = fields.String(required=True)


class EmailVerificationSchema(StrictSchema):
    """The secret of the link the verification e-mail carries."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EmailVerifiedSchema(StrictSchema):
    email = fields.String(required=True)
    verified = fields.Boolean(required=True)


class VerificationResendSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX_LENGTH))


class ExportedAccountSchema(CitizenSchema):
    username = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = fields.String(required=True, allow_none=True)
    email_verified_at = fields.AwareDateTime(required=True, allow_none=True)


# -- OpenID Connect: commune portals rely on identity's tokens


class OpenIdConfigurationSchema(StrictSchema):
    """OpenID Connect Discovery 1.0, section 3: where the keys and endpoints are. The issuer
    is the tokens' ``iss`` and the URL this document lives under."""

    issuer = fields.String(required=True)
    jwks_uri = fields.String(required=True)
    token_endpoint = fields.String(required=True)
    userinfo_endpoint = fields.String(required=True)
    response_types_supported = fields.List(fields.String(), required=True)
    grant_types_supported = fields.List(fields.String(), required=True)
    subject_types_supported = fields.List(fields.String(), required=True)
    id_token_signing_alg_values_supported = fields.List(fields.String(), required=True)
    token_endpoint_auth_methods_supported = fields.List(fields.String(), required=True)
    claims_supported = fields.List(fields.String(), required=True)


class UserInfoSchema(StrictSchema):
    """OpenID Connect's UserInfo claims: a citizen's e-mail and names, a company's e-mail and
    name; the username of other accounts, the name of an API client. Claims the principal
    lacks are left out."""

    sub = fields.String(required=True)
    name = fields.String()
    email = fields.String()
    email_verified = fields.Boolean()
    given_name = fields.String()
    family_name = fields.String()
    preferred_username = fields.String()


# Tokens are ES256 JWTs signed by the identity service; anyone holding its JWKS verifies them.
# Their issuer (``iss``) is the suite's public URL (``COMMUNS_PUBLIC_URL``): identity signs with
# it, the gateway checks it, and the OpenID discovery document lives under it.
TOKEN_ALGORITHM = "ES256"
TOKEN_AUDIENCE = "communs-api"


def token_issuer(public_url):
    """The ``iss`` of tokens, from ``servicekit.config.public_url`` of the caller's config."""
    return public_url.rstrip("/")
