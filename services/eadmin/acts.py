"""The acts a commune transmits to the prefecture for the legality control (@ctes), and the
dates that make them enforceable (rule R2).

The checks are S2LOW's, made before anything is kept so that the prefecture never refuses an
act for its form: nature among @ctes's six, number matching @ctes's pattern, subject of 499
characters at most, classification code of up to five levels, files that are PDFs within the
size caps. Pure functions: the service keeps acts, their signatures and transmission.
"""

from datetime import timedelta
from io import BytesIO

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from contracts.eadmin import NATURES
from contracts.errors import Invalid

# @ctes numbers the natures 1 to 6 in its envelopes and messages (CodeNatureActe).
NATURE_NUMBERS = {code: number for number, code in enumerate(NATURES, start=1)}
INDIVIDUAL = "AI"

MIB = 1024 * 1024
# @ctes caps an act with its annexes at 157.29 MB (Pastell's check), i.e. 150 MiB exactly.
MAX_TOTAL_BYTES = 150 * MIB
# Ours, not the law's: files travel base64-encoded in JSON and RPC messages and are held in
# memory while signed; 20 MiB is a 100-page deliberation scanned at 300 dpi, with room to spare.
MAX_FILE_BYTES = 20 * MIB

# CGCT L2131-1: an individual decision is transmitted within 15 days of its signature.
INDIVIDUAL_TRANSMISSION_DAYS = 15

PDF_MAGIC = b"%PDF-"


def check_pdf(content, field):
    """Refuse ``content`` unless it is a PDF that can be read and signed: it starts with the
    PDF header, its structure parses, it is not encrypted and has at least one page."""
    problem = _pdf_problem(content)
    if problem:
        raise Invalid({field: [problem]})


def check_files(files):
    """Refuse an act's files (``(field, content)`` pairs: the act, then its annexes) unless
    each is a readable PDF of at most MAX_FILE_BYTES and together they stay within
    MAX_TOTAL_BYTES. All problems are reported at once, by field."""
    errors = {}
    total = 0
    for field, content in files:
        total += len(content)
        if len(content) > MAX_FILE_BYTES:
            problem = f"A file exceeds {MAX_FILE_BYTES // MIB} MiB."
        else:
            problem = _pdf_problem(content)
        if problem:
            errors.setdefault(field, []).append(problem)
    if total > MAX_TOTAL_BYTES:
        errors.setdefault("annexes", []).append(
            f"The act and its annexes exceed {MAX_TOTAL_BYTES // MIB} MiB together."
        )
    if errors:
        raise Invalid(errors)


def transmission_due_by(nature, signed_on):
    """The last day an individual decision may reach the prefecture: its signature day plus
    15 days (CGCT L2131-1). None for other natures, which have no delay but are not
    enforceable before transmission, and for an act not signed yet."""
    if nature != INDIVIDUAL or signed_on is None:
        return None
    return signed_on + timedelta(days=INDIVIDUAL_TRANSMISSION_DAYS)


def is_late(nature, signed_on, transmitted_on_or_today):
    """Whether an individual decision was transmitted, or is still untransmitted, after its
    15 days (CGCT L2131-1): pass the transmission day, or today while it waits."""
    due_by = transmission_due_by(nature, signed_on)
    return due_by is not None and transmitted_on_or_today > due_by


def enforceable_on(transmitted_on, published_on):
    """The day an act becomes enforceable: once both transmitted to the prefect and published
    (or notified), the later of the two days (CGCT L2131-1, acts listed in L2131-2). None
    while either is missing."""
    if transmitted_on is None or published_on is None:
        return None
    return max(transmitted_on, published_on)


def _pdf_problem(content):
    if not content.startswith(PDF_MAGIC):
        return "Not a PDF: the file does not start with %PDF-."
    try:
        reader = PdfFileReader(BytesIO(content))
        if reader.encrypted:
            return "The PDF is encrypted: it cannot be signed nor read by the prefecture."
        pages = int(reader.root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, TypeError):
        return "The PDF cannot be read: its structure is damaged."
    if pages < 1:
        return "The PDF has no page."
    return None
