"""When this process may fork workers: only from its main thread.

Why: a fork copies only the calling thread. Children forked from a server's request thread
outlived the server when it shut down (seen: serve's figure workers kept its stderr open
after SIGTERM), and a thread other than the main one may be forking while another holds a
lock the child then inherits. A command's main thread forks before it serves anything; the
replay's progress bars run a daemon monitor thread that only sleeps and prints. So the HTML
figures and the replay's projection are split over forked processes only when called from
the main thread; anywhere else they run in the calling thread.
"""

from __future__ import annotations

import threading


def may_fork() -> bool:
    return threading.current_thread() is threading.main_thread()
