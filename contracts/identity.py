"""Payloads of the identity service: accounts, API clients, tokens and the login audit."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from contracts.fields import InseeCode

METROPOLE_ADMIN = "metropole_admin"
COMMUNE_AGENT = "commune_agent"
CITIZEN = "citizen"
COMPANY = "company"
ROLES = (METROPOLE_ADMIN, COMMUNE_AGENT, CITIZEN, COMPANY)

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$"
PASSWORD_MIN_LENGTH = 12


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class TokenRequestSchema(StrictSchema):
    """Either an account's username and password, or an API client's id and secret."""

    username = fields.String(validate=validate.Length(min=1, max=64))
    password = fields.String(validate=validate.Length(min=1, max=256), load_only=True)
    client_id = fields.String(validate=validate.Length(min=1, max=64))
    client_secret = fields.String(validate=validate.Length(min=1, max=256), load_only=True)

    @validates_schema
    def one_kind_of_credentials(self, credentials, **kwargs):
        account = {"username", "password"} & credentials.keys()
        client = {"client_id", "client_secret"} & credentials.keys()
        if account and client:
            raise ValidationError("Give a username and password, or a client id and secret.")
        wanted = ("username", "password") if account or not client else ("client_id", "client_secret")
        missing = {name: ["Missing data for required field."] for name in wanted if name not in credentials}
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
    """Who a token speaks for: an account or an API client."""

    kind = fields.String(required=True, validate=validate.OneOf(("account", "api_client")))
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = fields.String(allow_none=True, required=True)


class LoginEventSchema(StrictSchema):
    """One login attempt. Never the secret; the account is known by its id only."""

    occurred_at = fields.AwareDateTime(required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf(("success", "rejected", "throttled"))
    )
    principal_kind = fields.String(required=True)
    principal_id = fields.String(allow_none=True, required=True)
    correlation_id = fields.String(allow_none=True, required=True)


class JwksSchema(StrictSchema):
    keys = fields.List(fields.Dict(), required=True)


# Tokens are ES256 JWTs signed by the identity service; anyone holding its JWKS verifies them.
TOKEN_ALGORITHM = "ES256"
TOKEN_ISSUER = "communs-identity"
TOKEN_AUDIENCE = "communs-api"
