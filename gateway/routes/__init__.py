"""The gateway's routes by owning service, as mixins of ``GatewayService``: each method is a
``route`` declaration and calls its service through ``GatewayService.rpc``."""

from marshmallow import Schema, fields, validate

from contracts.identity import COMMUNE_AGENT, METROPOLE_ADMIN

# Commune-scoped routes open to both: the ``route`` declaration keeps an agent to its commune.
ADMIN_OR_AGENT = (METROPOLE_ADMIN, COMMUNE_AGENT)

IDEMPOTENCY_KEY = "Idempotency-Key"


class IdempotencyKeyHeaderSchema(Schema):
    """What a route that sends money or messages accepts, so that a client may retry it."""

    idempotency_key = fields.String(
        data_key=IDEMPOTENCY_KEY,
        load_default=None,
        validate=validate.Regexp(
            r"^[\x20-\x7e]{1,255}$", error="1 to 255 printable ASCII characters."
        ),
        metadata={"description": "Sent again with the same key, the request gives the first "
                  "answer again and does nothing more."},
    )
