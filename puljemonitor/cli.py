"""The ``puljemonitor`` command line: replay a log into reports, audits, schema, demo data."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO

import click
import msgspec

from projections.reports import published_cutoff
from puljemonitor import config
from puljemonitor.render import report_table
from puljemonitor.replay import Replay
from schemas.calendar import parse_month
from schemas.events import json_schema
from schemas.reports import RejectedLine

SHOWN_REJECTIONS = 20


def _month(ctx, param, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_month(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _timestamp(ctx, param, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 timestamp with offset, e.g. 2021-12-01T00:00:00+01:00")
    return parsed


class RejectionLog:
    """Rejected lines to an optional JSON Lines file, and the first few to stderr for a person."""

    def __init__(self, out: IO[bytes] | None) -> None:
        self.out = out
        self.count = 0
        self._encoder = msgspec.json.Encoder()

    def __call__(self, rejected: RejectedLine) -> None:
        self.count += 1
        if self.out is not None:
            self.out.write(self._encoder.encode(rejected) + b"\n")
        if self.count <= SHOWN_REJECTIONS:
            click.echo(f"line {rejected.line}: rejected: {rejected.reason}", err=True)

    def summary(self, hint: bool) -> None:
        if self.count > SHOWN_REJECTIONS:
            more = " (all are in the --rejected file)" if not hint else "; write them all with --rejected PATH"
            click.echo(f"… {self.count - SHOWN_REJECTIONS} more rejected lines{more}", err=True)


def _replay(log: str, state: str | None, rejected: str | None) -> Replay:
    replay = Replay(state)
    with open(rejected, "wb") if rejected else _nothing() as out:
        rejections = RejectionLog(out)
        replay.ingest(log, rejections)
        rejections.summary(hint=out is None)
    return replay


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


pool_option = click.option("--pool", default="afklaringspuljen", show_default=True, help="Which pool to report on.")
log_option = click.option("--log", "log", required=True, help="JSON Lines event log: a file, a .gz file, or - for stdin.")
month_option = click.option("--month", required=True, callback=_month, help="Report month, YYYY-MM.")
state_option = click.option("--state", type=click.Path(file_okay=False), help="Keep replay state in RocksDB here (logs larger than memory).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Monitoring of the Danish employment pools from an event log."""


@main.command()
@log_option
@month_option
@pool_option
@click.option("--as-of", callback=_timestamp, help="Only events recorded before this instant (RFC 3339).")
@click.option("--as-published", is_flag=True, help="As the month was known when STAR published it (end of month+2).")
@click.option("--count-social-frikort", is_flag=True, help="Rule variant: social frikort hours count as income.")
@click.option("--rejected", type=click.Path(dir_okay=False), help="Write rejected lines (JSON Lines, with reason) here.")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True)
@state_option
def report(log, month, pool, as_of, as_published, count_social_frikort, rejected, fmt, state) -> None:
    """Replay LOG and print the report of one month."""
    if as_of and as_published:
        raise click.UsageError("--as-of and --as-published are mutually exclusive")
    try:
        pool_config = config.pool(pool)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--pool") from None
    if as_published:
        as_of = published_cutoff(pool_config, month)
    replay = _replay(log, state, rejected)
    try:
        result = replay.report(pool_config, month, config.Rules(count_social_frikort), as_of)
    finally:
        replay.close()
    if fmt == "json":
        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
    else:
        click.echo(report_table(result))


@main.command()
def schema() -> None:
    """Print the JSON Schema of the event contract (generated from the types)."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
