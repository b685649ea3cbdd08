"""What a CPR number looks like, and its redaction from everything kept or printed.

CPR numbers (the Danish personal identity number) never enter the system: a CPR-like
citizen is rejected, and any CPR-shaped text is replaced by :data:`CPR_REDACTED` before
a rejected input is kept, sent or logged.
"""

from __future__ import annotations

import re

CPR_PATTERN = r"^\d{6}-?\d{4}$"
CPR_REDACTED = "[CPR redacted]"
_CPR_ANYWHERE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


def looks_like_cpr(text: str) -> bool:
    """True for ``DDMMYY-SSSS`` or ``DDMMYYSSSS`` (the shape, not a checksum: err on the safe side)."""
    n = len(text)
    if n == 10:
        return text.isdigit()
    return n == 11 and text[6] == "-" and text[:6].isdigit() and text[7:].isdigit()


def redact_cpr(text: str) -> str:
    """Replace every CPR-like run of digits in raw text, so a rejected line can be kept and logged."""
    return _CPR_ANYWHERE.sub(CPR_REDACTED, text)
