"""How a rendered title leaves for its debtor: today Chorus Pro's API, directly.

A transport sends an ``life.Outgoing`` and follows it; the title's life (``life``) knows
nothing else of it. A collectivité whose accounts are kept in Hélios would instead hand a PES
titre with its PES Facture ASAP to the finance software (../docs/billing.md): another
transport with the same three methods.
"""

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.billing import einvoice
from services.billing.chorus import ChorusError, ChorusProClient, ChorusRejected, ChorusSettings

REJECTED_FLOW = "IN_REJETE"


@dataclass(frozen=True)
class Progress:
    """Where a deposited document is: its status on the recipient's side and each change."""

    invoice_id: object
    status: str | None
    changes: tuple
    rejection_reason: str | None = None


class ChorusProTransport:
    name = "chorus-pro"
    # What a call may raise and the title's life records; anything else is a bug.
    errors = (ChorusError,)

    def __init__(self, client):
        self.client = client

    def recording(self, exchanges):
        """Every call from now on is appended to ``exchanges`` (one document at a time: the
        billing timer works through its documents one after the other)."""
        self.client.record = exchanges.append

    def send(self, outgoing):
        return self.client.deposit_invoice(
            outgoing.number, outgoing.file_name, outgoing.content, einvoice.SYNTAX,
            check_first=outgoing.check_first,
        )

    def follow(self, number, flow_number, invoice_id):
        """``None`` while Chorus Pro has not integrated the flow yet."""
        found = self.client.find_invoice(number)
        if found is None:
            if flow_number is not None:
                report = self.client.flow_report(flow_number, einvoice.SYNTAX)
                if report.state == REJECTED_FLOW:
                    return Progress(None, None, (), report.reason or "Flow rejected.")
            return None
        return Progress(found.invoice_id, found.status,
                        tuple(self.client.history(found.invoice_id)))

    @staticmethod
    def is_rejection(error):
        return isinstance(error, ChorusRejected)


class InvoiceTransport(DependencyProvider):
    """``transport = InvoiceTransport()``: the service's transport, built from its config."""

    def setup(self):
        self.transport = ChorusProTransport(
            ChorusProClient(ChorusSettings.from_config(self.container.config))
        )

    def get_dependency(self, worker_ctx):
        return self.transport
