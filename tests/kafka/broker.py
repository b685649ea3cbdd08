"""A real single-node Apache Kafka broker (KRaft) run from Maven Central jars.

Tests need a genuine broker (librdkafka speaks the full protocol, and
restarts, offsets and partitioning are what we test), but the project's
machines and CI have neither a Docker engine nor access to Kafka's release
tarball. They do have Java 17, Maven and Maven Central, where the broker is
published as ``org.apache.kafka:kafka_2.13``. ``tools/kafka/pom.xml`` lists it
plus a logging backend; this module copies those jars into a cache outside
the repo once, then formats a KRaft storage dir and runs ``kafka.Kafka``.

Usage::

    with LocalKafka() as kafka:
        use(kafka.bootstrap)      # "127.0.0.1:PORT"
        kafka.restart()           # same ports, same data

Command line (e.g. a CI step that warms the jar cache before pytest)::

    python tests/kafka/broker.py --resolve   # download jars, print their dir
    python tests/kafka/broker.py             # run a broker until Ctrl-C
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn

KAFKA_VERSION = "3.9.1"
"""Broker version. 3.9.x still accepts every old request version, which is
the safe choice for faust-streaming/aiokafka (4.x dropped old ones). Other
3.x versions work with the same pom; 4.x needs log4j2 instead of reload4j."""

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools" / "kafka"
POM = TOOLS_DIR / "pom.xml"
LOG4J_CONFIG = TOOLS_DIR / "log4j.properties"
# 3.8.1 is known to work with Maven 3.8.7; pinned so no plugin lookup happens.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
NODE_ID = 1


class KafkaBrokerError(RuntimeError):
    """The local broker could not be provided (tools missing, resolve or start failed)."""


def cache_root() -> Path:
    """``${PULJEMONITOR_CACHE:-${XDG_CACHE_HOME:-~/.cache}}/puljemonitor``.

    Outside the repo so jars (~46 MB) are neither committed nor wiped with the
    work tree, and a CI cache can keep them between runs.
    """
    base = os.environ.get("PULJEMONITOR_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base or Path.home() / ".cache") / "puljemonitor"


def resolve_jars(version: str = KAFKA_VERSION) -> Path:
    """Return the directory holding the broker's runtime jars, downloading once.

    A marker written only after Maven succeeds records the version and the
    pom's hash, so a half-finished download or an edited pom is redone. A file
    lock keeps parallel test sessions from resolving into the same dir at once.
    """
    home = cache_root() / f"kafka-{version}"
    libs, marker = home / "libs", home / "resolved"
    stamp = f"{version} {hashlib.sha256(POM.read_bytes()).hexdigest()}\n"

    def done() -> bool:
        return marker.is_file() and marker.read_text() == stamp and (libs / f"kafka_2.13-{version}.jar").is_file()

    if done():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaBrokerError("`mvn` is not on PATH; it is needed to fetch the Kafka jars")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done():
            return libs
        marker.unlink(missing_ok=True)
        shutil.rmtree(libs, ignore_errors=True)
        cmd = [
            mvn, "-B", "-q", "-f", str(POM),
            f"-Dkafka.version={version}",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        ]  # fmt: skip
        try:
            out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(f"Maven did not finish in {exc.timeout:.0f}s") from exc
        if out.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
            tail = _tail(out.stdout + out.stderr)
            raise KafkaBrokerError(f"resolving Kafka {version} jars failed:\n{tail}")
        marker.write_text(stamp)
    return libs


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise KafkaBrokerError("no `java` found (JAVA_HOME or PATH); Kafka needs Java 17+")
    return java


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for port 0, all held open at once so they differ."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class LocalKafka:
    """One combined broker+controller KRaft node on 127.0.0.1, for tests.

    Ports are chosen once, so :meth:`restart` comes back on the same
    bootstrap address with the same data: clients see a broker outage, not a
    new cluster. All broker output goes to ``log_path``; nothing is printed.
    """

    def __init__(
        self,
        version: str = KAFKA_VERSION,
        *,
        data_dir: Path | None = None,
        heap: str = "512m",
        start_timeout: float = 90.0,
        stop_timeout: float = 20.0,
        config: Mapping[str, str] | None = None,
    ) -> None:
        """``config`` adds or overrides server.properties entries.

        Without ``data_dir`` a temporary one is made and removed by :meth:`close`.
        """
        self.version = version
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._owns_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="puljemonitor-kafka-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "broker.log"
        self.port, self.controller_port = _free_ports(2)
        self._extra = dict(config or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.last_start_seconds: float | None = None
        """Wall time of the last start: JVM launch until a metadata request succeeded."""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _properties(self) -> dict[str, str]:
        props = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir / "data"),
            # A single node cannot hold the default 3 replicas of internal topics.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # Fewer internal partitions: the first consumer group / transaction
            # comes up in well under a second instead of creating 50.
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.num.partitions": "8",
            "group.initial.rebalance.delay.ms": "0",
        }
        return props | self._extra

    def _java_cmd(self, libs: Path, *args: str, heap: str) -> list[str]:
        return [
            _java(), f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration={LOG4J_CONFIG.as_uri()}",
            "-cp", str(libs / "*"), *args,
        ]  # fmt: skip

    def _format(self, libs: Path, props: Path) -> None:
        """Write meta.properties for a fresh cluster id (once per data dir)."""
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        cmd = self._java_cmd(
            libs, "kafka.tools.StorageTool", "format",
            "-t", cluster_id, "-c", str(props), "--ignore-formatted",
            heap="256m",
        )  # fmt: skip
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise KafkaBrokerError(f"formatting Kafka storage failed:\n{_tail(out.stdout + out.stderr)}")

    def start(self) -> None:
        """Start the broker and block until it answers a metadata request."""
        if self.running:
            return
        libs = resolve_jars(self.version)
        props = self.data_dir / "server.properties"
        if not props.exists():
            props.write_text("".join(f"{k}={v}\n" for k, v in self._properties().items()))
        if not (self.data_dir / "data" / "meta.properties").exists():
            self._format(libs, props)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - held until stop()
        self._log.write(f"---- starting kafka.Kafka {self.version} on {self.bootstrap}\n".encode())
        self._log.flush()
        began = time.monotonic()
        self._proc = subprocess.Popen(
            self._java_cmd(libs, "kafka.Kafka", str(props), heap=self.heap),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        atexit.register(self.stop)
        try:
            self._wait_ready(began + self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self.last_start_seconds = time.monotonic() - began

    def _wait_ready(self, deadline: float) -> None:
        """Wait for the listener, then for a metadata answer naming our node.

        A TCP connect alone is not enough, and polling the admin client before
        the port is open only fills the log with the client's connect errors.
        """
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        from streams.admin import client_config

        while True:
            self._check_alive()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self._fail("did not open its port")
            time.sleep(0.2)
        last: Exception | None = None
        admin = AdminClient(client_config(self.bootstrap, **{"client.id": "puljemonitor-readiness"}))
        while time.monotonic() < deadline:
            self._check_alive()
            # Short attempts, so a broker that dies meanwhile is noticed at once.
            attempt = min(5.0, max(1.0, deadline - time.monotonic()))
            try:
                if NODE_ID in admin.list_topics(timeout=attempt).brokers:
                    return
            except KafkaException as exc:
                last = exc
            time.sleep(0.2)
        self._fail(f"did not answer a metadata request (last error: {last!r})")

    def _check_alive(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            self._fail(f"exited with code {self._proc.returncode}")

    def _fail(self, what: str) -> NoReturn:
        raise KafkaBrokerError(
            f"Kafka {self.version} broker on {self.bootstrap} {what}; from {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The first ERROR/FATAL lines (the cause; stack traces bury it), then the tail."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no broker log)"
        errors = [ln for ln in text.splitlines() if "] ERROR " in ln or "] FATAL " in ln][:5]
        return "\n".join([*errors, "...", _tail(text, lines)] if errors else [_tail(text, lines)])

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown that flushes logs), SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            atexit.unregister(self.stop)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same ports and data dir."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop, and remove the data dir if this object created it."""
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def broker_at(address: str | None, heap: str = "1g") -> Iterator[str]:
    """The bootstrap address to use: ``address`` when given, else a :class:`LocalKafka`
    running for as long as the block does (the benchmarks' ``--broker`` option)."""
    if address:
        yield address
        return
    with LocalKafka(heap=heap) as local:
        yield local.bootstrap


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=KAFKA_VERSION)
    parser.add_argument("--resolve", action="store_true", help="only fetch the jars")
    args = parser.parse_args()
    if args.resolve:
        print(resolve_jars(args.version))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # still stop the broker
    with LocalKafka(args.version) as kafka:
        print(f"{kafka.bootstrap} (ready in {kafka.last_start_seconds:.1f}s, log {kafka.log_path})")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
