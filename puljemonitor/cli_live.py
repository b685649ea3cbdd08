"""Live commands of the ``puljemonitor`` group (``puljemonitor.cli`` adds them): ``worker``, ``produce``, ``compare``.

Broker, topic names, partitions and the state dir come from ``PULJEMONITOR_*`` environment
variables (see :data:`streams.settings.DEFAULTS`), overridden by options.
"""

from __future__ import annotations

import contextlib
import sys

import click
import msgspec

from schemas import pools
from streams import settings as settings_module

SHOWN_NOT_SENT = 20  # as many as `report` shows of its rejected lines

broker_option = click.option(
    "--broker", default=None, help="Kafka bootstrap HOST:PORT [env PULJEMONITOR_BROKER, default localhost:9092]."
)


def _settings(**options) -> settings_module.Settings:
    """The settings chain (defaults ← environment ← these options) for the tools."""
    try:
        return settings_module.load(options)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def settings_options(command):
    """One option per :class:`streams.settings.Settings` field, with its variable in the help."""
    from streams.settings import env_name, fields

    for info in reversed(fields()):
        name = "--" + info.name.replace("_", "-")
        doc = _field_docs().get(info.name, "")
        help_text = f"{doc} [env {env_name(info.name)}; default {info.default}]"
        if info.type is bool:
            option = click.option(name, info.name, flag_value=True, default=None, help=help_text)
        else:
            option = click.option(name, info.name, default=None, help=help_text, metavar=_metavar(info))
        command = option(command)
    return command


def _metavar(info) -> str:
    return {int: "N", float: "SECONDS"}.get(info.type, "TEXT")


def _field_docs() -> dict[str, str]:
    """Each setting's documentation: the string under its field in streams/settings.py."""
    import ast
    import inspect

    from streams import settings as module

    tree = ast.parse(inspect.getsource(module.Settings))
    body = tree.body[0].body
    docs = {}
    for field, doc in zip(body, body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
            docs[field.target.id] = doc.value.value
    return docs


@click.command(context_settings={"max_content_width": 120})
@settings_options
@click.option("--loglevel", default="warning", show_default=True)
def worker(loglevel: str, **options) -> None:
    """Run a live worker: events → citizen states → municipality and national figures on the feed topic.

    Every setting below can also be given as its environment variable; the option wins.
    """
    from streams.worker import DeploymentMismatch, run_worker

    try:
        run_worker(_settings(**options), loglevel)
    except DeploymentMismatch as error:
        raise click.UsageError(str(error)) from None


@click.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@broker_option
@click.option("--topic", default=None, help="Events topic [env PULJEMONITOR_EVENTS_TOPIC, default events].")
@click.option(
    "--partitions", type=int, default=None, help="Partitions when the topic is created [env PULJEMONITOR_PARTITIONS]."
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Secret key: CPR-like citizens are replaced by HMAC-SHA256 pseudonyms.",
)
@click.option(
    "--refused",
    "refused_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write every line not sent here (JSON Lines: line number, reason); else the first 20 go to stderr.",
)
def produce(log, broker, topic, partitions, key_file, refused_path) -> None:
    """Load a JSON Lines LOG (file, .gz, or -) into the events topic, keyed by citizen.

    Without --key-file a line whose citizen looks like a CPR number is not sent; neither is
    a line larger than the topic accepts. Each is listed with its line number and reason
    (on stderr, or in --refused FILE) and counted in the summary: CPR numbers never leave
    this machine, and the rest of the log is sent.
    """
    from puljemonitor.producing import NotSent, load_key
    from puljemonitor.producing import produce as send
    from puljemonitor.replay import open_log
    from streams.admin import ensure_topic

    settings = _settings(broker=broker, events_topic=topic, partitions=partitions)
    broker, topic = settings.broker, settings.events_topic
    try:
        key = load_key(key_file) if key_file else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--key-file") from None
    ensure_topic(broker, topic, settings.partitions)
    encoder = msgspec.json.Encoder()

    with open(refused_path, "wb") if refused_path else contextlib.nullcontext() as out:

        def refused(number: int, reason: str) -> None:
            nonlocal on_screen
            if out is not None:
                out.write(encoder.encode(NotSent(number, reason)) + b"\n")
                return
            on_screen += 1  # a broker outage can fail every line: the screen gets the first few
            if on_screen <= SHOWN_NOT_SENT:
                click.echo(f"line {number}: not sent: {reason}", err=True)

        on_screen = 0
        with open_log(log) as (lines, _size):
            summary = send(lines, broker, topic, hmac_key=key, on_refused=refused)
    if on_screen > SHOWN_NOT_SENT:
        click.echo(f"… {on_screen - SHOWN_NOT_SENT} more lines not sent (list them all with --refused FILE)", err=True)
    listed = f"; lines not sent are listed in {refused_path}" if refused_path else ""
    click.echo(f"{summary} to {topic} on {broker}{listed}", err=True)


@click.command()
@broker_option
@click.option("--events-topic", default=None, help="[env PULJEMONITOR_EVENTS_TOPIC, default events]")
@click.option(
    "--aggregates-topic", default=None, help="The feed topic [env PULJEMONITOR_FEED_TOPIC, default aggregates]"
)
@click.option(
    "--month", "months", multiple=True, help="Only these months (repeatable); default every month of the pool."
)
@click.option("--pool", default=None, help="Only this pool; default every configured pool.")
@click.option("--count-social-frikort", is_flag=True)
def compare(broker, events_topic, aggregates_topic, months, pool, count_social_frikort) -> None:
    """Replay the events topic offline and compare with the live aggregates; exit 1 on any difference
    (3 when no broker answers: see the README's exit codes)."""
    from puljemonitor.comparing import differences, expected_outputs
    from puljemonitor.exit_codes import DIFFERENCES, OK
    from puljemonitor.replay import Replay
    from schemas.calendar import parse_month
    from streams.topic_reader import read_latest

    settings = _settings(broker=broker, events_topic=events_topic, feed_topic=aggregates_topic,
                         count_social_frikort=count_social_frikort or None)  # fmt: skip
    broker = settings.broker
    pool_config = pools.pool(pool) if pool else None  # every pool
    rules = pools.Rules(settings.count_social_frikort)
    wanted = [parse_month(m) for m in months] or None
    actual = read_latest(broker, settings.feed_topic)  # first: the replay must not be older than it
    replay = Replay()
    try:
        replay.ingest(f"kafka://{broker}/{settings.events_topic}")
        expected = expected_outputs(replay, rules, pool=pool_config, months=wanted)
    finally:
        replay.close()
    diffs = differences(expected, actual, pool=pool_config, months=wanted)
    for line in diffs:
        click.echo(line)
    counts = replay.counts
    click.echo(f"{len(expected)} replay records, {len(actual)} live records, {len(diffs)} differences; "
               f"input {counts.lines} messages: {counts.applied} applied, {counts.duplicates} duplicates, "
               f"{counts.rejected} rejected", err=True)  # fmt: skip
    sys.exit(DIFFERENCES if diffs else OK)


@click.command()
@settings_options
def status(**options) -> None:
    """The deployment's input accounting and whether its figures have caught up (exit 0), or not (exit 1)."""
    from tabulate import tabulate

    from puljemonitor.exit_codes import DIFFERENCES, OK
    from streams.admin import reach
    from streams.progress import FIELDS, read_progress

    settings = _settings(**options)
    reach(settings.broker)
    progress = read_progress(settings)
    rows = [
        [p, progress.partitions.get(p, {}).get("next_offset", 0), end, progress.behind(p),
         *(progress.partitions.get(p, {}).get(f, 0) for f in FIELDS)]
        for p, end in sorted(progress.ends.items())
    ]  # fmt: skip
    totals = progress.totals
    rows.append(["all", "", "", sum(progress.behind(p) for p in progress.ends), *(totals[f] for f in FIELDS)])
    click.echo(tabulate(rows, headers=["partition", "absorbed to", "end", "behind", *FIELDS]))
    lag = ", ".join(f"{topic} {n}" for topic, n in progress.internal_lag.items())
    state = "caught up" if progress.caught_up else "catching up"
    click.echo(f"{settings.events_topic} → {settings.group}: {state} (internal records not yet processed: {lag})")
    sys.exit(OK if progress.caught_up else DIFFERENCES)
