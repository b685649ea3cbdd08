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
from streams.settings import Topics, setting

SHOWN_NOT_SENT = 20  # as many as `report` shows of its rejected lines

broker_option = click.option(
    "--broker", default=None, help="Kafka bootstrap HOST:PORT [env PULJEMONITOR_BROKER, default localhost:9092]."
)


def _broker(value: str | None) -> str:
    return value or setting("broker")


@click.command()
@broker_option
@click.option(
    "--state-dir", default=None, help="Where RocksDB tables live [env PULJEMONITOR_STATE_DIR, default ./state]."
)
@click.option(
    "--partitions",
    type=int,
    default=None,
    help="Partitions of the events and statuses topics [env PULJEMONITOR_PARTITIONS, default 8].",
)
@click.option("--app-id", default=None, help="Faust app id = consumer group [env PULJEMONITOR_APP_ID].")
@click.option("--events-topic", default=None, help="[env PULJEMONITOR_EVENTS_TOPIC, default events]")
@click.option("--aggregates-topic", default=None, help="[env PULJEMONITOR_AGGREGATES_TOPIC, default aggregates]")
@click.option("--rejected-topic", default=None, help="[env PULJEMONITOR_REJECTED_TOPIC, default rejected]")
@click.option("--pool", default=None, help="[env PULJEMONITOR_POOL, default afklaringspuljen]")
@click.option(
    "--count-social-frikort", is_flag=True, default=None, help="Rule variant [env PULJEMONITOR_COUNT_SOCIAL_FRIKORT=1]."
)
@click.option("--loglevel", default="warning", show_default=True)
def worker(
    broker,
    state_dir,
    partitions,
    app_id,
    events_topic,
    aggregates_topic,
    rejected_topic,
    pool,
    count_social_frikort,
    loglevel,
) -> None:
    """Run a stream worker: events → citizen states → live aggregates (until stopped)."""
    from streams.app import Settings, run_worker

    settings = Settings()
    settings.broker = _broker(broker)
    for name, value in (("state_dir", state_dir), ("partitions", partitions), ("app_id", app_id), ("pool", pool)):
        if value is not None:
            setattr(settings, name, value)
    if count_social_frikort:
        settings.count_social_frikort = True
    settings.topics = Topics.from_env(events=events_topic, aggregates=aggregates_topic, rejected=rejected_topic)
    pools.pool(settings.pool)
    sys.argv = [sys.argv[0], "worker"]  # faust's Worker reads argv
    run_worker(settings, loglevel)


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

    broker = _broker(broker)
    topic = topic or setting("events_topic")
    try:
        key = load_key(key_file) if key_file else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--key-file") from None
    ensure_topic(broker, topic, partitions or int(setting("partitions")))
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
@click.option("--aggregates-topic", default=None, help="[env PULJEMONITOR_AGGREGATES_TOPIC, default aggregates]")
@click.option(
    "--month", "months", multiple=True, help="Only these months (repeatable); default every month of the pool."
)
@click.option("--pool", default=None)
@click.option("--count-social-frikort", is_flag=True)
def compare(broker, events_topic, aggregates_topic, months, pool, count_social_frikort) -> None:
    """Replay the events topic offline and compare with the live aggregates; exit 1 on any difference
    (3 when no broker answers: see the README's exit codes)."""
    from puljemonitor.comparing import differences, expected_outputs
    from puljemonitor.exit_codes import DIFFERENCES, OK
    from puljemonitor.replay import Replay
    from puljemonitor.topic_reader import read_latest
    from schemas.calendar import parse_month

    broker = _broker(broker)
    topics = Topics.from_env(events=events_topic, aggregates=aggregates_topic)
    pool_config = pools.pool(pool or setting("pool"))
    rules = pools.Rules(count_social_frikort)
    wanted = [parse_month(m) for m in months] or None
    actual = read_latest(broker, topics.aggregates)  # first: the replay must not be older than it
    replay = Replay()
    try:
        replay.ingest(f"kafka://{broker}/{topics.events}")
        expected = expected_outputs(replay, pool_config, rules, wanted)
    finally:
        replay.close()
    diffs = differences(expected, actual, pool_config, wanted)
    for line in diffs:
        click.echo(line)
    counts = replay.counts
    click.echo(f"{len(expected)} replay records, {len(actual)} live records, {len(diffs)} differences; "
               f"input {counts.lines} messages: {counts.applied} applied, {counts.duplicates} duplicates, "
               f"{counts.rejected} rejected", err=True)  # fmt: skip
    sys.exit(DIFFERENCES if diffs else OK)
