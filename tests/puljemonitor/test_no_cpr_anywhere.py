"""No CPR number leaves the system, in any spelling (spec §2): a property over every output.

For any CPR number put into any field of any event (or a key, or a citizen given as a
number, or a line cut short so it no longer parses), spelled with any mix of ``\\uXXXX``
escapes and with or without its hyphen, none of these holds its digits: the real CLI's
stdout, stderr and ``--rejected`` file; the live dead-letter value and key; what ``produce``
would send or say when refusing; and log records through the worker's filter.
"""

from __future__ import annotations

import json
import logging
import re

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puljemonitor.cli import main
from puljemonitor.producing import Refused, prepare
from schemas import pools
from schemas.cpr import RedactCpr
from streams.intake import Intake
from streams.live import CitizenStore, fold_step
from streams.records import dead_letter

POOL = pools.pool("afklaringspuljen")
BASE = {"id": "e1", "citizen": "c1", "recorded": "2021-09-02T10:00:00+02:00"}
EVENTS = [
    {"type": "enrolled", "at": "2020-07-01", "pool": "afklaringspuljen", "municipality": "101"},
    {"type": "benefit_changed", "at": "2021-09-01", "benefit": "kontanthjaelp"},
    {"type": "income_reported", "month": "2021-09", "hours": 7.5, "kind": "ordinary"},
    {"type": "exemption_started", "at": "2021-09-01", "reason": "sygdom"},
    {"type": "offer_started", "at": "2021-09-01", "offer": "loentilskud"},
    {"type": "retracted", "event": "e0"},
]
GOOD = json.dumps({**BASE, "id": "e0", **EVENTS[0]}).encode()


def escape(char: str, upper: bool) -> str:
    code = f"{ord(char):04x}"
    return "\\u" + (code.upper() if upper else code)


@st.composite
def spelled_cpr(draw) -> tuple[str, str]:
    """(the 10 digits, a JSON string body spelling them: some characters escaped, maybe a hyphen)."""
    digits = draw(st.text("0123456789", min_size=10, max_size=10))
    text = digits[:6] + ("-" if draw(st.booleans()) else "") + digits[6:]
    flags = draw(st.lists(st.sampled_from(["plain", "lower", "upper"]), min_size=len(text), max_size=len(text)))
    return digits, "".join(c if f == "plain" else escape(c, f == "upper") for c, f in zip(text, flags))


@st.composite
def line_with_cpr(draw) -> tuple[str, bytes]:
    digits, body = draw(spelled_cpr())
    event = {**BASE, **draw(st.sampled_from(EVENTS))}
    field = draw(st.sampled_from([*event, "note", "<key>", "<number>"]))
    around = draw(st.sampled_from(["{}", " {} ", "born {}, ok"]))
    placeholder = "QQCPRQQ"
    if field == "<key>":
        event["note"] = 1
        text = json.dumps(event).replace('"note"', json.dumps(placeholder))
        text = text.replace(placeholder, body)
    elif field == "<number>":  # a citizen given as a JSON number: its digits, maybe a leading zero lost
        text = json.dumps({**event, "citizen": placeholder}).replace(json.dumps(placeholder), str(int(digits)))
    else:
        event[field] = around.format(placeholder)
        text = json.dumps(event).replace(placeholder, body)
    if draw(st.booleans()):
        text = text[: draw(st.integers(len(text) // 2, len(text) - 1))]  # no longer parses
    return digits, text.encode()


def leaks(digits: str, output: str) -> bool:
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), output)
    spellings = {digits, digits[:6] + "-" + digits[6:], str(int(digits))} - {""}
    spellings = {s for s in spellings if len(s.replace("-", "")) >= 9}
    return any(s in text for s in spellings for text in (output, unescaped))


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.addFilter(RedactCpr())

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=line_with_cpr())
def test_no_output_holds_a_cpr_number_in_any_spelling(case, tmp_path):
    digits, raw = case
    outputs: list[str] = []

    log, rejected = tmp_path / "log.jsonl", tmp_path / "rejected.jsonl"
    log.write_bytes(GOOD + b"\n" + raw + b"\n")
    result = CliRunner().invoke(
        main, ["report", "--log", str(log), "--month", "2021-09", "--format", "json", "--rejected", str(rejected)]
    )
    assert result.exit_code == 0, result.output
    outputs += [result.stdout, result.stderr, rejected.read_text()]

    key = re.search(rb'"citizen":\s*("(?:[^"\\]|\\.)*"|[\d.e]+)', raw)
    for k in {None, raw, key.group(1).strip(b'"') if key else b"c1"}:
        step = fold_step(CitizenStore(POOL, pools.Rules()), _MemoryState(), k, raw)
        if step.reason is not None:
            outputs.append(dead_letter(step.reason, raw, k, "events", 0, 1).decode())

    for hmac_key in (None, b"k" * 32):
        try:
            prepared = prepare(raw, hmac_key)
            outputs += [prepared.value.decode(), (prepared.key or b"").decode()]
        except Refused as error:
            outputs.append(str(error))

    handler, logger = Collect(), logging.getLogger("test.no_cpr")
    logger.addHandler(handler)
    try:
        Intake(_Store(), lambda r: logger.warning("line %d: %s (%r)", r.line, r.reason, r.raw)).feed(1, raw)
        logger.warning("raw %s %r", raw.decode(errors="replace"), raw)
    finally:
        logger.removeHandler(handler)
    outputs += handler.texts

    assert not [text for text in outputs if leaks(digits, text)]


class _Store:
    def admit(self, event):
        from streams.admission import Admission

        return Admission.APPLIED


class _MemoryState(dict):
    """A citizen's state as the live stage sees it (get_bytes/set_bytes)."""

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.get(key, default)

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self[key] = value
