"""``puljemonitor serve`` and ``puljemonitor token`` (``puljemonitor.cli`` adds them): the municipal
HTTP feed and live dashboard of issue 10, and the tokens that scope it.

Operator mistakes end with one line on stderr and their own exit code: no Kafka broker at
``--broker`` (3, like every command: ``exit_codes.py``), a missing log
(:data:`EXIT_NO_LOG`), a log that cannot be read (:data:`EXIT_BAD_LOG`), an address that cannot be bound (:data:`EXIT_ADDRESS`), an unreadable
tokens file (:data:`EXIT_TOKENS`).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from pathlib import Path

import click

EXIT_NO_LOG = 66  # sysexits EX_NOINPUT
EXIT_BAD_LOG = 65  # EX_DATAERR: the log cannot be read as JSON Lines (a corrupt gzip)
EXIT_ADDRESS = 69  # EX_UNAVAILABLE: port in use, unknown host
EXIT_TOKENS = 78  # EX_CONFIG
DEFAULT_TOKENS = "puljemonitor-tokens.txt"

tokens_option = click.option(
    "--tokens",
    "tokens_path",
    default=lambda: os.environ.get("PULJEMONITOR_TOKENS", DEFAULT_TOKENS),
    show_default=f"$PULJEMONITOR_TOKENS or {DEFAULT_TOKENS}",
    type=click.Path(dir_okay=False),
    help="File of token hashes (puljemonitor token add); re-read when it changes.",
)


def fail(code: int, message: str) -> None:
    click.echo(f"puljemonitor serve: {message}", err=True)
    sys.exit(code)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the replay so a taken port fails at once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        fail(EXIT_ADDRESS, f"cannot resolve host {host!r}: {error.strerror}")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        why = "port already in use" if error.errno == errno.EADDRINUSE else error.strerror
        fail(EXIT_ADDRESS, f"cannot listen on {host}:{port}: {why}")
    sock.listen(2048)
    return sock


@click.command()
@click.option("--log", "log_path", default=None, help="JSON Lines event log (a file or .gz) to replay and serve.")
@click.option("--follow", is_flag=True, help="Absorb lines appended to the log as they arrive, and push the changes.")
@click.option(
    "--broker",
    default=None,
    help="Instead of --log: follow the events topic on this Kafka broker (HOST:PORT) and push every change.",
)
@click.option("--events-topic", default=None, help="With --broker [env PULJEMONITOR_EVENTS_TOPIC, default events].")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@tokens_option
@click.option("--month", default="2021-09", show_default=True, help="The dashboard's month until one is chosen.")
@click.option("--loglevel", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
def serve(log_path, follow, broker, events_topic, host, port, tokens_path, month, loglevel) -> None:
    """Serve the figures of a log, or of the events topic, over HTTP: the live dashboard at /,
    the JSON API under /api/v1."""
    import uvicorn

    from puljemonitor.server.access import Tokens, read_entries
    from puljemonitor.server.app import create_app
    from puljemonitor.server.logsource import LogSource

    if (log_path is None) == (broker is None):
        raise click.UsageError("give --log FILE or --broker HOST:PORT")
    if log_path is not None and not Path(log_path).is_file():
        fail(EXIT_NO_LOG, f"no such log file: {log_path}")
    tokens = Tokens(tokens_path)
    if Path(tokens_path).exists():
        try:
            read_entries(Path(tokens_path))
        except (OSError, ValueError, UnicodeDecodeError) as error:
            fail(EXIT_TOKENS, f"cannot read the tokens file: {error}")
    if broker is not None:
        from puljemonitor.cli_live import _settings
        from puljemonitor.server.topicsource import TopicSource

        settings = _settings(broker=broker, events_topic=events_topic)
        source = TopicSource(settings.broker, settings.events_topic)  # exit 3 (no broker) or 2 (no topic)
    else:
        source = LogSource(log_path, follow=follow)
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    failures: list[str] = []
    servers: list[uvicorn.Server] = []

    def fatal(reason: str) -> None:
        failures.append(reason)
        servers[0].should_exit = True

    app = create_app(source, tokens, default_month=month, on_fatal=fatal)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"serving {log_path or source.name} on http://{shown}:{bound}/ (API: /api/v1, docs: /api/docs)", err=True
    )
    config = uvicorn.Config(app, log_level=loglevel, access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    servers.append(uvicorn.Server(config))
    servers[0].run(sockets=[sock])
    if failures:
        what = f"the log {log_path}" if log_path is not None else source.name
        fail(EXIT_BAD_LOG, f"cannot read {what}: {failures[0]}")


@click.group()
def token() -> None:
    """Tokens for the serve API: a municipality's (its own citizens and exact figures) or star's (all)."""


@token.command("add")
@click.option("--municipality", "codes", multiple=True, help="Municipality code the token covers (repeatable).")
@click.option("--star", is_flag=True, help="The agency's token: everything.")
@tokens_option
def token_add(codes, star, tokens_path) -> None:
    """Create a token: printed once on stdout, only its salted hash is stored."""
    from puljemonitor.server.access import Role, add_token
    from schemas import reference

    if bool(codes) == star:
        raise click.UsageError("give --municipality CODE (repeatable) or --star")
    unknown = [c for c in codes if c not in reference.municipalities()]
    if unknown:
        raise click.BadParameter(f"unknown municipality code(s): {', '.join(unknown)}", param_hint="--municipality")
    role = Role(star=True) if star else Role(codes=frozenset(codes))
    token_id, secret = add_token(tokens_path, role)
    click.echo(secret)
    click.echo(f"token {token_id} for {role} stored (hash only) in {tokens_path}; it is not shown again", err=True)


@token.command("revoke")
@click.argument("token_id")
@tokens_option
def token_revoke(token_id, tokens_path) -> None:
    """Revoke a token by its id (the part after pm1.); a running server notices at once."""
    from puljemonitor.server.access import revoke_token

    if not revoke_token(tokens_path, token_id):
        raise click.ClickException(f"no token {token_id} in {tokens_path}")
    click.echo(f"revoked {token_id}", err=True)


@token.command("list")
@tokens_option
def token_list(tokens_path) -> None:
    """Token ids and their roles (the tokens themselves are not stored)."""
    from puljemonitor.server.access import read_entries

    if not Path(tokens_path).exists():
        raise click.ClickException(f"no tokens file at {tokens_path}")
    for token_id, entry in read_entries(Path(tokens_path)).items():
        click.echo(f"{token_id}  {entry.role}")
