"""The fault tests' report: each test injects a fault into the running suite and records what it
sent, what it found after, and how much was lost or done twice; the table is printed at the end
of the run and kept in ``$COMMUNS_DATA_DIR/chaos/latest.json``.

``make chaos`` runs them at full scale (``COMMUNS_CHAOS_SCALE=full``: 1,000 subscription changes,
outages of tens of seconds); ``make test`` runs the same tests in a shorter form.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

FULL = os.environ.get("COMMUNS_CHAOS_SCALE") == "full"
ROWS = []


def scale(short, full):
    """The figure a fault test uses: ``full`` under ``make chaos``, ``short`` in ``make test``."""
    return full if FULL else short


@dataclass
class Row:
    number: str  # the row of the test list in reliability-perf-anchors.md §4, e.g. "1"
    fault: str
    sent: str
    found: str
    lost: int
    duplicated: int
    figures: dict = field(default_factory=dict)


class Report:
    def row(self, number, fault, *, sent, found, lost, duplicated, **figures):
        """Records one fault's outcome; a test still asserts ``lost == duplicated == 0`` itself,
        so that the table shows what was measured even when the assertion fails."""
        ROWS.append(Row(str(number), fault, sent, found, int(lost), int(duplicated), figures))


@pytest.fixture
def chaos_report():
    return Report()


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"fault tests ({'full' if FULL else 'short'} scale)")
    header = ("#", "fault", "sent", "found after", "lost", "duplicated")
    lines = [(r.number, r.fault, r.sent, _found(r), str(r.lost), str(r.duplicated))
             for r in sorted(ROWS, key=lambda r: _order(r.number))]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    for line in (header, tuple("-" * w for w in widths), *lines):
        write(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    data_dir = Path(os.environ.get("COMMUNS_DATA_DIR", "var"))
    target = data_dir / "chaos" / "latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"scale": "full" if FULL else "short",
                                  "rows": [asdict(r) for r in ROWS]}, indent=2, default=str))
    write(f"(kept in {target})")


def _found(row):
    figures = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in row.figures.items())
    return f"{row.found} ({figures})" if figures else row.found


def _order(number):
    head = "".join(ch for ch in number if ch.isdigit())
    return (int(head) if head else 999, number)
