"""An act of Lavérune and its files, as the registry hands them to ``actes``."""

from datetime import date
from types import SimpleNamespace

from contracts.communes import MEMBER_COMMUNES

LAVERUNE = MEMBER_COMMUNES["34134"]
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sample_act(number="2022_12", nature="DE", decided_on=date(2022, 3, 1),
               subject="Tarifs de la cantine scolaire à compter du 1er septembre : 3,50 €",
               classification="7.1.2"):
    return SimpleNamespace(number=number, nature=nature, decided_on=decided_on, subject=subject,
                           classification=classification)


def sample_files(annexes=1):
    files = [(SimpleNamespace(role="act", file_name="délibération.PDF"), PDF)]
    files += [(SimpleNamespace(role="annex", file_name=f"annexe-{n}.pdf"), PDF + bytes([n]))
              for n in range(1, annexes + 1)]
    return files
