"""The event contract (spec §2): one msgspec type per event ``type``, a tagged union on ``type``.

Decoding *is* validation. Type, enum, range and required-field checks run inside msgspec's C
decoder; the few rules it cannot express (CPR-like citizens and ids, date ranges, the
enrollment freeze) run in ``__post_init__`` with plain string and integer operations, because
a regex per field would cost as much as the whole decode. Two rules are about the *spelling*
of the line, which msgspec does not keep: a key given twice (msgspec silently keeps the last)
and a ``recorded`` that msgspec's lenient parser takes but RFC 3339 does not (``+0100``, a
space for ``T``). :func:`decode` checks both on the raw bytes, cheaply (see there). Every
failure surfaces as a :class:`Rejection` whose text names the field and what was wrong, with
any CPR number in it redacted.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal, Union

import msgspec

from schemas.calendar import Day, bounds, parse_month
from schemas.cpr import CPR_PATTERN, looks_like_cpr, redact_cpr
from schemas.pools import configuration, pools
from schemas.reference import municipalities
from schemas.timestamps import RFC3339_PATTERN, parse_timestamp

CITIZEN_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_CITIZEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

FIRST_DATE = configuration().contract.first_date
LAST_DATE = configuration().contract.last_date
_FIRST_MONTH = FIRST_DATE.year * 12
_LAST_MONTH = LAST_DATE.year * 12 + 11

Pool = Literal["afklaringspuljen", "bir"]
Benefit = Literal[
    "kontanthjaelp", "uddannelseshjaelp", "integrationsydelse", "overgangsydelse",
    "selvforsoergelsesydelse", "sygedagpenge", "forrevalidering", "revalidering",
    "ressourceforloeb", "ledighedsydelse", "fleksjob", "foertidspension", "seniorpension",
    "folkepension", "none",
]  # fmt: skip
IncomeKind = Literal["ordinary", "apprentice", "social_frikort"]
Offer = Literal["virksomhedspraktik", "loentilskud"]
ExemptionReason = Literal[
    "arbejdsfordeling_under_6_uger", "arbejdsfordeling_over_6_uger", "barsel",
    "barsel_inden_6_uger", "dom_anbringelse", "kan_ikke_faa_pension", "standby",
    "paa_vej_i_job", "paa_vej_efterloen", "paa_vej_folkepension", "sygdom",
    "saerlig_oevrige", "vejrlig",
]  # fmt: skip
# Built from the reference data, so a code list change is a data change.
MunicipalityCode = Literal[tuple(municipalities())]  # type: ignore[valid-type]

EventId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        description="Never a CPR number.",
        extra_json_schema={"not": {"pattern": CPR_PATTERN}},
    ),
]
Citizen = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="Pseudonym of the citizen; never a CPR number.",
        extra_json_schema={"pattern": CITIZEN_PATTERN, "not": {"pattern": CPR_PATTERN}},
    ),
]
Recorded = Annotated[
    dt.datetime,
    msgspec.Meta(
        tz=True,
        description=(
            "Transaction time: when the fact was registered. RFC 3339 §5.6 date-time with offset "
            "(docs/rfc3339.md): T/t, Z/z, -00:00 as UTC, 1-9 fraction digits, no leap second (:60)."
        ),
        extra_json_schema={"pattern": RFC3339_PATTERN},
    ),
]
ValidDate = Annotated[
    dt.date,
    msgspec.Meta(
        description="Valid time, YYYY-MM-DD",
        extra_json_schema={"formatMinimum": str(FIRST_DATE), "formatMaximum": str(LAST_DATE)},
    ),
]
MonthText = Annotated[
    str,
    msgspec.Meta(min_length=7, max_length=7, extra_json_schema={"pattern": r"^20\d\d-(0[1-9]|1[0-2])$"}),
]
Hours = Annotated[float, msgspec.Meta(ge=0, le=744)]


class Rejection(ValueError):
    """An input that is never applied, with a reason a person can act on."""


_CPR_ID = (
    "`{field}` looks like a CPR number; event ids are kept and shown, and CPR numbers never "
    "enter the system - at `$.{field}`"
)


def _check_date(value: dt.date, field: str) -> None:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"`{field}` {value} is outside {FIRST_DATE}..{LAST_DATE} - at `$.{field}`")


class Event(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    """Fields every event has. ``gc=False``: events hold no references, and millions are kept."""

    id: EventId
    citizen: Citizen
    recorded: Recorded

    def __post_init__(self) -> None:
        citizen = self.citizen
        if citizen.strip(_CITIZEN_CHARS):
            raise ValueError(f"`citizen` must match {CITIZEN_PATTERN} - at `$.citizen`")
        if looks_like_cpr(citizen):
            raise ValueError(
                "`citizen` looks like a CPR number; send the pseudonym, CPR numbers never enter the system - at `$.citizen`"
            )
        if 10 <= len(self.id) <= 11 and looks_like_cpr(self.id):  # len first: a call costs ~0.1 µs
            raise ValueError(_CPR_ID.format(field="id"))

    def day(self) -> Day:
        """The valid-time day the event is ordered by within its citizen."""
        raise NotImplementedError


class DatedEvent(Event, kw_only=True, gc=False):
    at: ValidDate

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        _check_date(self.at, "at")

    def day(self) -> Day:
        return self.at.toordinal()


class Enrolled(DatedEvent, tag="enrolled", kw_only=True, gc=False):
    pool: Pool
    municipality: MunicipalityCode

    def __post_init__(self) -> None:
        DatedEvent.__post_init__(self)
        config = pools().get(self.pool)
        if config and config.enrollment_closes and self.at > config.enrollment_closes:
            raise ValueError(
                f"enrollment into {self.pool} at {self.at} is after the target group was frozen "
                f"on {config.enrollment_closes}; nobody joins later - at `$.at`"
            )


class BenefitChanged(DatedEvent, tag="benefit_changed", kw_only=True, gc=False):
    benefit: Benefit


class IncomeReported(Event, tag="income_reported", kw_only=True, gc=False):
    month: MonthText
    hours: Hours
    kind: IncomeKind

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        text = self.month
        if text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit() and "01" <= text[5:] <= "12"):
            raise ValueError(f"`month` {text!r} is not a month YYYY-MM - at `$.month`")
        if not _FIRST_MONTH <= int(text[:4]) * 12 <= _LAST_MONTH:
            raise ValueError(f"`month` {self.month} is outside {FIRST_DATE:%Y-%m}..{LAST_DATE:%Y-%m} - at `$.month`")

    def day(self) -> Day:
        return bounds(parse_month(self.month))[0]


class EducationStarted(DatedEvent, tag="education_started", kw_only=True, gc=False):
    pass


class EducationEnded(DatedEvent, tag="education_ended", kw_only=True, gc=False):
    pass


class OfferStarted(DatedEvent, tag="offer_started", kw_only=True, gc=False):
    offer: Offer


class OfferEnded(DatedEvent, tag="offer_ended", kw_only=True, gc=False):
    offer: Offer


class ExemptionStarted(DatedEvent, tag="exemption_started", kw_only=True, gc=False):
    reason: ExemptionReason


class ExemptionEnded(DatedEvent, tag="exemption_ended", kw_only=True, gc=False):
    pass


class Moved(DatedEvent, tag="moved", kw_only=True, gc=False):
    municipality: MunicipalityCode


class Died(DatedEvent, tag="died", kw_only=True, gc=False):
    pass


class Retracted(Event, tag="retracted", kw_only=True, gc=False):
    """The named event of the same citizen was registered in error."""

    event: EventId

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        if looks_like_cpr(self.event):
            raise ValueError(_CPR_ID.format(field="event"))

    def day(self) -> Day:
        # A retraction removes an event; it has no place in valid time.
        return 0


AnyEvent = Union[
    Enrolled, BenefitChanged, IncomeReported, EducationStarted, EducationEnded, OfferStarted,
    OfferEnded, ExemptionStarted, ExemptionEnded, Moved, Died, Retracted,
]  # fmt: skip

_json_decoder = msgspec.json.Decoder(AnyEvent)
_msgpack_decoder = msgspec.msgpack.Decoder(AnyEvent)
_msgpack_encoder = msgspec.msgpack.Encoder()

_JSON_STRINGS = (
    msgspec.inspect.StrType,
    msgspec.inspect.LiteralType,
    msgspec.inspect.DateType,
    msgspec.inspect.DateTimeType,
)


def _quotes(cls: type) -> int | None:
    """The number of ``"`` in a line of this type without repeated or extra keys or escaped
    quotes: 2 per key (the ``type`` tag too) and 2 per string value. None if a field is
    optional (then the count is not a constant, and every line takes the exact check)."""
    count = 4  # "type":"…"
    for field in msgspec.inspect.type_info(cls).fields:
        if not field.required:
            return None
        kind = field.type.type if isinstance(field.type, msgspec.inspect.Metadata) else field.type
        count += 4 if isinstance(kind, _JSON_STRINGS) else 2
    return count


_QUOTES = {cls: _quotes(cls) for cls in AnyEvent.__args__}


class _RepeatedKey(Exception):
    pass


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return obj


def _check_exactly(raw: bytes | str) -> None:
    """The slow path of :func:`decode`: no key twice in any object, and ``recorded`` spelled as
    RFC 3339 says (keys compared after unescaping, so ``"\\u0069d"`` repeats ``"id"``)."""
    try:
        obj = json.loads(raw, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as repeated:
        raise Rejection(
            redact_cpr(f"key {repeated.args[0]!r} is given more than once in an object; send each field once")
        ) from None
    except (ValueError, RecursionError) as error:  # msgspec took it, so this should not happen
        raise Rejection(redact_cpr(f"not valid JSON: {error}")) from None
    try:
        parse_timestamp(obj["recorded"], "recorded")
    except ValueError as error:
        raise Rejection(redact_cpr(str(error))) from None


def _recorded_reason(raw: bytes | str, error: str) -> str:
    """msgspec's own complaint about ``recorded``, reworded with the value and the expected form."""
    try:
        value = json.loads(raw).get("recorded")
        if isinstance(value, str):
            parse_timestamp(value, "recorded")
    except ValueError as reason:
        return str(reason)
    except (AttributeError, RecursionError):
        pass
    return error


def decode(raw: bytes | str) -> AnyEvent:
    """One JSON line → a valid event, or :class:`Rejection` saying what is wrong.

    After msgspec, two cheap looks at the raw bytes; a line failing either (extra fields,
    escapes, spaces around ``:``, a lower-case ``t`` or ``z``) pays for the exact check,
    :func:`_check_exactly` (~6.5 µs):

    * the number of ``"`` is a constant per type when no key is repeated or extra and no quote
      is escaped: every field is required, and each key adds 2, each string value 2 more;
    * with the key known to occur once, ``"recorded":"`` is followed by a ``T`` after the
      10-character date and a closing quote 20 characters in (``…SSZ``) or 25 in with the
      offset's colon before it (``…SS+HH:MM``), or a ``.`` after the seconds and at most 9
      fraction digits before ``Z`` or ``+HH:MM``. msgspec has checked digits and ranges; all it
      lets through beyond RFC 3339 is a space for ``T`` and an offset without its colon.
      Escapes cannot fake these bytes: a literal ``T``, ``"`` or ``:`` there means the
      decoded value has that shape.

    Why inline and not in a function: on this interpreter a Python call costs ~0.1 µs, a
    sixth of what these checks add (measured: docs/rfc3339.md).
    """
    try:
        event = _json_decoder.decode(raw)
    except msgspec.ValidationError as error:
        text = str(error)
        if text.endswith("- at `$.recorded`") and not text.startswith("Expected `datetime`, got"):
            text = _recorded_reason(raw, text)
        raise Rejection(redact_cpr(text)) from None
    except msgspec.DecodeError as error:
        raise Rejection(redact_cpr(f"not valid JSON: {error}")) from None
    if raw.__class__ is not bytes:
        raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if raw.count(b'"') == _QUOTES[event.__class__]:
        start = raw.find(b'"recorded":"')
        try:
            if start >= 0 and raw[start + 22] == 84:  # T
                if raw[start + 32] == 34 or (raw[start + 37] == 34 and raw[start + 34] == 58):
                    return event  # "…SSZ" | "…SS+HH:MM"
                if raw[start + 31] == 46:  # "…SS.fff(Z|+HH:MM)" with at most 9 digits
                    end = raw.find(b'"', start + 33)
                    if end - start <= (42 if raw[end - 1] == 90 else 47 if raw[end - 3] == 58 else 0):
                        return event
        except IndexError:  # a short value at the end of the line
            pass
    _check_exactly(raw)
    return event


def to_bytes(event: AnyEvent) -> bytes:
    """Compact storage form (msgpack) for state stores; the inverse is :func:`from_bytes`."""
    return _msgpack_encoder.encode(event)


def from_bytes(data: bytes) -> AnyEvent:
    return _msgpack_decoder.decode(data)


def json_schema() -> dict:
    """The JSON Schema of the contract, generated from these types so it cannot drift."""
    return msgspec.json.schema(AnyEvent)
