"""The audit trail: one entry per privileged action, per read or erasure of a citizen's own
data, and per refused authentication or authorisation, as the gateway records them (GDPR
art. 5(2) and 32; enough to scope a breach, art. 33: who, which commune, what, when).

An entry names its actor by id and its object by the path's ids, never by a payload, a query
string, a name, an address or a token."""

from marshmallow import fields, validate

from contracts.fields import InseeCode
from contracts.identity import ROLES, StrictSchema

SUCCEEDED, REFUSED, FAILED = "succeeded", "refused", "failed"
AUDIT_OUTCOMES = (SUCCEEDED, REFUSED, FAILED)
ACCOUNT, API_CLIENT = "account", "api_client"
PRINCIPAL_KINDS = (ACCOUNT, API_CLIENT)
ACTOR_ID_MAX_LENGTH = 60
OBJECT_ID_MAX_LENGTH = 200
AUDIT_PAGE_DEFAULT = 100
AUDIT_PAGE_MAX = 500


class AuditEntrySchema(StrictSchema):
    id = fields.UUID(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    actor_id = fields.String(required=True, allow_none=True,
                             validate=validate.Length(max=ACTOR_ID_MAX_LENGTH),
                             metadata={"description": "the account's or API client's id; "
                                                      "null when no token was believed"})
    actor_kind = fields.String(required=True, allow_none=True,
                               validate=validate.OneOf(PRINCIPAL_KINDS))
    actor_role = fields.String(required=True, allow_none=True, validate=validate.OneOf(ROLES))
    commune = InseeCode(required=True, allow_none=True,
                        metadata={"description": "the commune of the path, else the actor's"})
    action = fields.String(required=True, validate=validate.Length(min=1, max=300),
                           metadata={"example": "POST /api/v1/communes/{insee}/eadmin/acts"})
    object_ids = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                             values=fields.String(
                                 validate=validate.Length(max=OBJECT_ID_MAX_LENGTH)),
                             required=True,
                             metadata={"description": "the path's parameters but the commune"})
    status = fields.Integer(required=True, validate=validate.Range(min=100, max=599))
    outcome = fields.String(required=True, validate=validate.OneOf(AUDIT_OUTCOMES))
    correlation_id = fields.String(required=True, allow_none=True,
                                   validate=validate.Length(max=200))


class AuditQuerySchema(StrictSchema):
    commune = InseeCode()
    actor_id = fields.String(validate=validate.Length(min=1, max=ACTOR_ID_MAX_LENGTH))
    outcome = fields.String(validate=validate.OneOf(AUDIT_OUTCOMES))
    since = fields.AwareDateTime(metadata={"description": "occurred at or after"})
    until = fields.AwareDateTime(metadata={"description": "occurred before"})
    limit = fields.Integer(load_default=AUDIT_PAGE_DEFAULT,
                           validate=validate.Range(min=1, max=AUDIT_PAGE_MAX))
    before = fields.Integer(validate=validate.Range(min=1),
                            metadata={"description": "next_before of the previous page"})


class AuditPageSchema(StrictSchema):
    items = fields.List(fields.Nested(AuditEntrySchema), required=True,
                        metadata={"description": "the most recently recorded first"})
    next_before = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "null on the last page"})
