"""A bordereau of titres of Lavérune with one supporting document."""

from datetime import date
from decimal import Decimal

from services.eadmin import pes

BUDGET = pes.Budget(id_coll="21340134200017", cod_col="134", cod_bud="01", id_post="034045",
                    label="Commune de Lavérune - budget principal")
BORDEREAU = pes.Bordereau(
    kind=pes.TITRES, year=2022, number=12, issued_on=date(2022, 3, 1),
    pieces=(pes.Piece(1, "Cantine scolaire, mars 2022",
                      (pes.Line("7067", Decimal("120.50"), "Famille Martin"),
                       pes.Line("7067", Decimal("29.61"), "Famille Martin")),
                      (pes.Attachment("facture-mars.pdf", b"%PDF-1.4 facture"),)),),
)


def sample_pes():
    return pes.build_pes_aller(BUDGET, BORDEREAU, date(2022, 3, 2))
