"""The exit codes of every ``puljemonitor`` command, and the operator errors that map to them.

An operator's mistake (a missing file, a wrong broker address) ends a command with one line
on stderr and a code a script can tell apart from "the comparison found differences":

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done
1     ``compare``: the live figures differ from the replay; ``status``: not caught up yet
2     usage: a bad option, an input file or topic that does not exist (click's code)
3     no Kafka broker answered at the address given (within 10 s)
====  ==========================================================================
"""

from __future__ import annotations

import click

from streams.admin import BrokerUnreachable, TopicMissing

OK = 0
DIFFERENCES = 1
USAGE = 2  # click.UsageError.exit_code: a missing input file is a bad parameter (cli._replay)
BROKER_UNREACHABLE = 3


class Commands(click.Group):
    """The command group: a broker or topic an operator got wrong ends the command with one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokerUnreachable as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(BROKER_UNREACHABLE)
        except TopicMissing as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(USAGE)
