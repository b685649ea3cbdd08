"""The ``puljemonitor`` command line: replay a log into reports, audits, schema, demo data."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO

import click
import msgspec

from projections.audit import audit as audit_month
from projections.period_report import overview_months, project_overview
from projections.reports import published_cutoff
from puljemonitor import cli_live, exit_codes
from puljemonitor.render import audit_table, report_table
from puljemonitor.render_periods import period_audit_table, period_report_table
from puljemonitor.replay import Replay
from puljemonitor.sharding import ShardedReplay, shards_for
from schemas import pools, reference
from schemas.calendar import parse_month
from schemas.cpr import redact_cpr
from schemas.events import json_schema
from schemas.reports import RejectedLine
from schemas.timestamps import parse_timestamp

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
        return parse_timestamp(value, "as-of")  # the rule `recorded` follows
    except ValueError as error:
        raise click.BadParameter(redact_cpr(str(error).replace(" - at `$.as-of`", ""))) from None


class RejectionLog:
    """Rejected lines to an optional JSON Lines file, and the first few to stderr for a person."""

    def __init__(self, out: IO[bytes] | None, shown: int = SHOWN_REJECTIONS) -> None:
        self.out = out
        self.shown = shown
        self.count = 0
        self._encoder = msgspec.json.Encoder()

    def __call__(self, rejected: RejectedLine) -> None:
        self.count += 1
        if self.out is not None:
            self.out.write(self._encoder.encode(rejected) + b"\n")
        if self.count <= self.shown:
            click.echo(f"line {rejected.line}: rejected: {rejected.reason}", err=True)

    def summary(self) -> None:
        hidden = self.count - min(self.count, self.shown)
        if hidden:
            where = f"all are in {self.out.name}" if self.out else "write them all with --rejected PATH"
            more = "more " if self.shown else ""
            click.echo(f"… {hidden} {more}rejected lines ({where})", err=True)


def _replay(
    log: str, state: str | None, rejected: str | None, shown: int = SHOWN_REJECTIONS, jobs: int = 1
) -> Replay | ShardedReplay:
    if log != "-" and "://" not in log and not Path(log).is_file():
        raise click.BadParameter(f"no such file: {log}", param_hint="--log")
    shards = shards_for(log, jobs)
    if shards > 1:
        replay = ShardedReplay(Path(state) / "replay.rocksdb" if state else None, shards)
    else:
        replay = Replay(Path(state) / "replay.rocksdb" if state else None)
    with open(rejected, "wb") if rejected else contextlib.nullcontext() as out:
        rejections = RejectionLog(out, shown)
        replay.ingest(log, rejections)
        rejections.summary()
    return replay


def _pool(name: str) -> pools.Pool:
    try:
        return pools.pool(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--pool") from None


def _emit(result: msgspec.Struct, fmt: str, table) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
    else:
        click.echo(table(result))


pool_option = click.option("--pool", default="afklaringspuljen", show_default=True, help="Which pool to report on.")
log_option = click.option(
    "--log",
    "log",
    required=True,
    help="JSON Lines event log: a file, a .gz file, - for stdin, or kafka://HOST:PORT/TOPIC.",
)
month_option = click.option("--month", required=True, callback=_month, help="Report month, YYYY-MM.")
jobs_option = click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Processes that share the replay by citizen; 0: one per core (at most 2) for a file over 16 MB.",
)
state_option = click.option(
    "--state", type=click.Path(file_okay=False), help="Keep replay state in RocksDB here (logs larger than memory)."
)


@click.group(cls=exit_codes.Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Monitoring of the Danish employment pools from an event log."""


@main.command()
@log_option
@month_option
@pool_option
@click.option("--as-of", callback=_timestamp, help="Only events recorded before this instant (RFC 3339).")
@click.option("--as-published", is_flag=True, help="As the month was known when STAR published it (end of month+2).")
@click.option("--count-social-frikort", is_flag=True, help="Rule variant: social frikort hours count as income.")
@click.option(
    "--rejected", type=click.Path(dir_okay=False), help="Write rejected lines (JSON Lines, with reason) here."
)
@click.option("--format", "fmt", type=click.Choice(["json", "table", "html"]), default="table", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write the report here (required for --format html: one HTML file)."
)
@click.option(
    "--participant", help="HTML: the report as this participant's job centre reads it (name or municipality code)."
)
@click.option("--unsuppressed", is_flag=True, help="HTML, with --participant: its own figures without suppression.")
@state_option
@jobs_option
def report(
    log,
    month,
    pool,
    as_of,
    as_published,
    count_social_frikort,
    rejected,
    fmt,
    out,
    participant,
    unsuppressed,
    state,
    jobs,
) -> None:
    """Replay LOG and print the report of one month (or write it as HTML with --out)."""
    if as_of and as_published:
        raise click.UsageError("--as-of and --as-published are mutually exclusive")
    if fmt == "html" and not out:
        raise click.UsageError("--format html writes a file: give it with --out PATH")
    if fmt != "html" and (out or participant or unsuppressed):
        raise click.UsageError("--out, --participant and --unsuppressed belong to --format html")
    if unsuppressed and not participant:
        raise click.UsageError("--unsuppressed shows one participant's own figures: give --participant too")
    from puljemonitor.html import (  # matplotlib: a second of start-up
        NotParticipating,
        find_municipality,
        find_participant,
        render_period_report,
        render_report,
    )

    pool_config = _pool(pool)
    periods = isinstance(pool_config, pools.PeriodPool)
    if participant:
        try:
            participant = find_municipality(participant) if periods else find_participant(pool_config, participant)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--participant") from None
    if as_published:
        as_of = published_cutoff(pool_config, month)
    replay = _replay(log, state, rejected, jobs=jobs)
    try:
        if fmt == "html":
            render = render_period_report if periods else render_report
            try:
                _, page = render(
                    replay,
                    pool_config,
                    month,
                    pools.Rules(count_social_frikort),
                    as_of,
                    participant=participant,
                    unsuppressed=unsuppressed,
                )
            except NotParticipating as error:
                raise click.BadParameter(str(error), param_hint="--participant") from None
        elif isinstance(pool_config, pools.PeriodPool):
            result, tallies = replay.period_report_and_tallies(
                pool_config, month, pools.Rules(count_social_frikort), as_of
            )
            overview = project_overview(tallies, pool_config, overview_months(month))
        else:
            result = replay.report(pool_config, month, pools.Rules(count_social_frikort), as_of)
    finally:
        replay.close()
    if fmt == "html":
        Path(out).write_text(page, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    elif isinstance(pool_config, pools.PeriodPool):
        _emit(result, fmt, lambda r: period_report_table(r, pool_config, overview))
    else:
        _emit(result, fmt, report_table)


@main.command()
@click.argument("kind", type=click.Choice(["events", "feed"]), default="events")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write it to this file.")
def schema(kind: str, output: str | None) -> None:
    """The JSON Schema of the event contract (input) or of the feed and intake records (output),
    generated from the types the code decodes and encodes with."""
    from streams import feed

    text = json.dumps(json_schema() if kind == "events" else feed.json_schema(), indent=2, ensure_ascii=False)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@main.command()
@log_option
@month_option
@pool_option
@click.option(
    "--municipality",
    "codes",
    multiple=True,
    help="Only this municipality code (repeatable): a municipality sees only its own citizens.",
)
@click.option("--count-social-frikort", is_flag=True, help="Rule variant: social frikort hours count as income.")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True)
@state_option
def audit(log, month, pool, codes, count_social_frikort, fmt, state) -> None:
    """Compare MONTH as published with as known now, citizen by citizen."""
    pool_config = _pool(pool)
    unknown = [c for c in codes if c not in reference.municipalities()]
    if unknown:
        raise click.BadParameter(f"unknown municipality code(s): {', '.join(unknown)}", param_hint="--municipality")
    replay = _replay(log, state, None)
    try:
        result = audit_month(
            replay.store.citizens(),
            pool=pool_config,
            month=month,
            cutoff=published_cutoff(pool_config, month),
            rules=pools.Rules(count_social_frikort),
            municipalities=set(codes) or None,
        )
    finally:
        replay.close()
    if isinstance(pool_config, pools.PeriodPool):
        _emit(result, fmt, lambda r: period_audit_table(r, pool_config))
    else:
        _emit(result, fmt, audit_table)


@main.command("demo-data")
@click.option("--seed", default=1, show_default=True, help="Same seed, same bytes.")
@click.option("--scale", default=1.0, show_default=True, help="Multiplies the number of citizens (benchmarks).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output path; .gz writes gzip.")
def demo_data(seed, scale, out) -> None:
    """Write the synthetic demo event log (all municipalities, Aug 2020 – Mar 2024)."""
    from puljemonitor.demo import generate

    summary = generate(out, seed=seed, scale=scale)
    click.echo(f"wrote {out}: {msgspec.json.encode(summary).decode()}", err=True)


@main.command()
@click.option("--seed", default=1, show_default=True)
@click.option("--month", default="2021-09", show_default=True, callback=_month, help="The month to report.")
@click.option(
    "--bir-month", default="2021-04", show_default=True, callback=_month, help="The BIR month to report (seed 001's)."
)
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
def demo(seed, month, bir_month, out_dir) -> None:
    """Generate the demo log (once), replay it, and report a month of each pool: tables here, JSON in OUT."""
    from puljemonitor.demo import generate
    from puljemonitor.html import render_period_html, render_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"demo-seed{seed}.jsonl.gz"
    if not log.exists():
        click.echo(f"generating {log} …", err=True)
        generate(str(log), seed=seed, scale=1.0)
    pool_config = pools.pool("afklaringspuljen")
    # The demo log holds deliberately invalid lines: keep them in the file, not on the screen.
    replay = _replay(str(log), None, str(out / "rejected.jsonl"), shown=0, jobs=0)
    try:
        now, page = render_report(replay, pool_config, month, pools.Rules(), None)
        published = replay.report(pool_config, month, pools.Rules(), published_cutoff(pool_config, month))
        bir_config = pools.pool("bir")
        bir, bir_tallies = replay.period_report_and_tallies(bir_config, bir_month, pools.Rules(), None)
    finally:
        replay.close()
    name = f"report-{now.month}"
    bir_json = out / f"report-bir-{bir.month}.json"
    (out / f"{name}.json").write_bytes(msgspec.json.format(msgspec.json.encode(now), indent=2))
    (out / f"{name}.html").write_text(page, encoding="utf-8")
    (out / f"{name}-as-published.json").write_bytes(msgspec.json.format(msgspec.json.encode(published), indent=2))
    bir_json.write_bytes(msgspec.json.format(msgspec.json.encode(bir), indent=2))
    bir_html = out / f"report-bir-{bir.month}.html"
    bir_html.write_text(render_period_html(bir, bir_tallies, bir_config), encoding="utf-8")
    click.echo(report_table(now))
    bir_overview = project_overview(bir_tallies, bir_config, overview_months(bir_month))
    click.echo("\n" + period_report_table(bir, bir_config, bir_overview))
    click.echo(
        f"\nSom offentliggjort ({published.as_of}): {published.project.positive} positive af "
        f"{published.project.measured} målte; nu: {now.project.positive} af {now.project.measured}."
        f"\nJSON: {out / name}.json, {out / name}-as-published.json, BIR: {bir_json}; "
        f"afviste linjer: {out / 'rejected.jsonl'}"
        f"\nHTML (som STAR udgiver rapporten; åbn i en browser, udskriv som PDF): {out / name}.html, BIR: {bir_html}"
    )


for command in (cli_live.worker, cli_live.produce, cli_live.compare, cli_live.status):
    main.add_command(command)

from puljemonitor import cli_serve  # noqa: E402  (its own module, so the serve work merges cleanly)

for command in (cli_serve.serve, cli_serve.token):
    main.add_command(command)
