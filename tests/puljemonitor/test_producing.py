"""``produce`` never sends a CPR number, in any spelling: what :func:`prepare` makes of each line.

A CPR-like citizen becomes its pseudonym with a key file and is refused without one; a CPR
number anywhere else is refused (it cannot be pseudonymized); a line that is not a JSON
object, or whose citizen is a number, is sent redacted and unkeyed (the worker dead-letters it).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from puljemonitor.producing import Prepared, ProduceSummary, Refused, prepare, pseudonym

KEY = b"k" * 32
CPR = "0101901234"
BASE = '"type":"died","id":"1","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"'


def line(text: str) -> bytes:
    return ("{" + BASE + "," + text + "}").encode()


@pytest.mark.parametrize(
    "raw",
    [
        line('"citizen":"010190-1234"'),  # hyphenated
        line('"citizen":"0101901234"'),
        line('"citizen":"\\u0030101901234"'),  # escaped digit
        line('"citizen":"010190\\u002d1234"'),  # escaped hyphen
    ],
)
def test_a_cpr_citizen_in_any_spelling_is_refused_without_a_key_and_sent_as_its_pseudonym_with_one(raw):
    with pytest.raises(Refused, match="--key-file"):
        prepare(raw, None)

    prepared = prepare(raw, KEY)

    assert prepared == Prepared(pseudonym(KEY, CPR).encode(), prepared.value, pseudonymized=True)
    assert json.loads(prepared.value)["citizen"] == prepared.key.decode()
    assert CPR not in prepared.value.decode() and "1234" not in prepared.value.decode()


def test_both_spellings_of_a_cpr_number_get_the_same_43_character_pseudonym():
    assert pseudonym(KEY, "010190-1234") == pseudonym(KEY, CPR) != pseudonym(b"x" * 32, CPR)
    assert len(pseudonym(KEY, CPR)) == 43


@pytest.mark.parametrize(
    "raw",
    [
        line('"citizen":"c1","note":"born 010190-1234"'),  # another field
        line('"citizen":"c1","note":"0101\\u003901234"'),  # another field, escaped
        line('"citizen":"c1","note":"010190\u20101234"'),  # a Unicode hyphen
        line('"citizen":"c1","010190-1234":1'),  # a field name
    ],
)
def test_a_cpr_number_outside_the_citizen_is_refused_even_with_a_key(raw):
    for key in (None, KEY):
        with pytest.raises(Refused, match="outside `citizen`"):
            prepare(raw, key)


@pytest.mark.parametrize(
    "raw, value",
    [
        (line('"citizen":101901234'), line('"citizen":"[CPR redacted]"')),  # a JSON number, leading zero lost
        (b"garbage 010190-1234 here", b"garbage [CPR redacted] here"),  # not JSON
        (b'["0101901234"]', b'["[CPR redacted]"]'),  # JSON, not an object
    ],
)
def test_a_line_without_a_string_citizen_is_sent_unkeyed_with_the_cpr_redacted(raw, value):
    assert prepare(raw + b"\n", None) == Prepared(None, value)


def test_a_clean_line_is_sent_as_it_is_keyed_by_its_citizen():
    raw = line('"citizen":"c1","hours":1000000000')
    assert prepare(raw + b"\r\n", None) == Prepared(b"c1", raw)


def test_the_summary_names_every_count():
    summary = ProduceSummary(lines=10, sent=5, pseudonymized=2, refused=2, too_large=1, blank=2)
    assert str(summary) == "5 of 10 lines sent (2 pseudonymized, 2 refused, 1 too large, 2 blank)"
    assert "3 failed" in str(ProduceSummary(failed=3))


def test_the_screen_lists_the_first_20_lines_not_sent_and_counts_the_rest(tmp_path, monkeypatch):
    """A broker outage can fail every line of a large log: stderr must stay readable."""
    import streams.admin
    from puljemonitor import producing
    from puljemonitor.cli import main

    def send(lines, broker, topic, *, hmac_key, on_refused):
        for number in range(1, 26):
            on_refused(number, "not delivered: Local: Message timed out")
        return ProduceSummary(lines=25, failed=25)

    monkeypatch.setattr(producing, "produce", send)
    monkeypatch.setattr(streams.admin, "ensure_topic", lambda *args: 1)
    log = tmp_path / "log.jsonl"
    log.write_text("{}\n")

    result = CliRunner().invoke(main, ["produce", str(log), "--broker", "b:1", "--topic", "t"])

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        *(f"line {n}: not sent: not delivered: Local: Message timed out" for n in range(1, 21)),
        "… 5 more lines not sent (list them all with --refused FILE)",
        "0 of 25 lines sent (0 pseudonymized, 0 refused, 0 too large, 25 failed, 0 blank) to t on b:1",
    ]


def test_a_key_file_shorter_than_16_bytes_is_a_usage_error(tmp_path):
    from puljemonitor.cli import main

    log, key = tmp_path / "log.jsonl", tmp_path / "short.key"
    log.write_text("{}\n")
    key.write_text("too short")

    result = CliRunner().invoke(main, ["produce", str(log), "--broker", "127.0.0.1:1", "--key-file", str(key)])

    assert result.exit_code == 2 and "at least 16 bytes" in result.stderr
