"""CPR numbers are redacted from every kept, sent or printed text, whatever their spelling (spec §2)."""

import json
import logging

import pytest

from schemas.cpr import CPR_REDACTED, RedactCpr, contains_cpr, redact_cpr

R = json.dumps(CPR_REDACTED)
LINE = '{{"id":"x1","type":"died","citizen":{citizen},"recorded":"2021-01-01T10:00:00+01:00","at":"2021-01-01"}}'


def cited(citizen: str) -> str:
    return LINE.format(citizen=citizen)


@pytest.mark.parametrize(
    "citizen",
    [
        r'"\u0030101901234"',  # one digit escaped
        r'"\u0030\u0031\u0030\u0031\u0039\u0030\u0031\u0032\u0033\u0034"',  # every digit escaped
        r'"010190\u002d1234"',  # escaped hyphen
        r'"010190\u002D1234"',
        '"010190-1234"',
        '"0101901234"',
        "101901234",  # a number that lost its leading zero
        "1101901234",
        "1.01901234e9",
        "1101901234.0",
    ],
)  # fmt: skip
def test_a_cpr_citizen_is_redacted_in_any_spelling_and_the_rest_kept_exactly(citizen):
    assert redact_cpr(cited(citizen)) == cited(R)


def test_a_cpr_in_another_field_a_nested_value_or_a_key_is_redacted():
    text = '{"note" : "born 010190-1234, see", "deep":[{"x":"\\u00301019\\u00301234"}], "0101901234":1}'
    assert redact_cpr(text) == f'{{"note" : {R}, "deep":[{{"x":{R}}}], {R}:1}}'


def test_numbers_and_other_text_are_kept_byte_for_byte():
    text = '{"hours":1000000000.0, "n":1101901234, "id":"01019012345", "s":"12345-6789",  "t":"2021-01-01T10:00:00Z"}'
    assert redact_cpr(text) == text


def test_a_cpr_in_an_unparseable_line_is_redacted_in_any_spelling():
    assert redact_cpr('{"citizen":0101901234') == '{"citizen":' + CPR_REDACTED
    assert redact_cpr(r'{"citizen":"\u0030101901234",') == r'{"citizen":"' + CPR_REDACTED + '",'
    assert redact_cpr(r"x 0101\u003990\u002D1234 y") == f"x {CPR_REDACTED} y"
    assert redact_cpr("x 010190\u20131234 y 12345-6789") == f"x {CPR_REDACTED} y {CPR_REDACTED}"
    assert redact_cpr("not json: 2021-01-01 744.5 12345678") == "not json: 2021-01-01 744.5 12345678"


def test_reasons_quoting_a_value_are_redacted():
    assert redact_cpr("Invalid enum value '0101901234' - at `$.benefit`") == (
        f"Invalid enum value '{CPR_REDACTED}' - at `$.benefit`"
    )


def test_contains_cpr_is_redaction_changing_the_text():
    assert contains_cpr(cited('"c1"').replace("x1", "0101901234"))
    assert contains_cpr(cited(r'"\u0030101901234"'))
    assert not contains_cpr(cited('"c1"').replace('"at"', '"hours":1000000000,"at"'))


def test_the_log_filter_redacts_message_args_and_exception():
    logger = logging.getLogger("test.cpr")
    handler = logging.Handler()
    seen = []
    handler.emit = lambda record: seen.append(logging.Formatter().format(record))
    handler.addFilter(RedactCpr())
    logger.addHandler(handler)
    try:
        logger.warning("rejected %s for %r", "0101901234", {"citizen": "010190-1234"})
        try:
            raise ValueError(r"bad \u0030101901234")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert len(seen) == 2 and all(CPR_REDACTED in text for text in seen)
    assert not any(s in text for text in seen for s in ("0101901234", "010190-1234", r"\u0030101901234"))


def test_a_redacted_record_still_formats_and_with_a_mapping_argument():
    """A formatter formats the args again; a redacted record must survive that, also when its
    one argument was a dict (a percent sign too)."""
    logger = logging.getLogger("test.cpr.mode")
    handler = logging.Handler()
    seen = []
    formatter = logging.Formatter(fmt="%(message)s")
    handler.emit = lambda record: seen.append(formatter.format(record))
    handler.addFilter(RedactCpr())
    logger.addHandler(handler)
    try:
        logger.warning("input %s", {"lines": 3, "citizen": "0101901234"})
        logger.warning("share 42 %% of %s", "0101901234")
    finally:
        logger.removeHandler(handler)
    assert seen == [f"input {{'lines': 3, 'citizen': '{CPR_REDACTED}'}}", f"share 42 % of {CPR_REDACTED}"]
