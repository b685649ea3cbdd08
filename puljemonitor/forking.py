"""When this process may fork workers: only while it runs a single thread.

Why: a fork copies only the calling thread. In a process with other threads (the server's
request threads, a Kafka client's background threads) a forked child can inherit a lock held
by a thread that does not exist in it, and children forked from a request thread outlive a
server that is shutting down (seen: serve's figure workers kept its stderr open after
SIGTERM). So the HTML figures and the replay's projection are split over forked processes
only from a single-threaded command; anywhere else they run in the calling thread.
"""

from __future__ import annotations

import threading


def may_fork() -> bool:
    return threading.active_count() == 1
