"""``puljemonitor serve`` under load, embedded mode over the demo log, loopback only (issue 10).

    python bench/serve.py                       # 50 clients, 2,000 requests per endpoint, 500 SSE subscribers
    python bench/serve.py --clients 50 --requests 4000 --subscribers 500

Starts ``serve --follow`` on a copy of out/demo-seed1.jsonl.gz (generated into bench-data/ when
missing) and prints, per endpoint, p50/p99 latency and requests per second at N concurrent
clients: a month's report without a token (public, suppressed) and a municipality's citizens
with its token, in the first pool and in BIR. Then opens M change-stream subscribers, appends one line to the log (a gzip
member), and prints the time from the append to the last subscriber notified. Client and
server share this machine's cores, so the figures include the client's own cost. Bounded:
every phase has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.puljemonitor.serve_world import free_port  # noqa: E402

REPORT = "/api/v1/pools/afklaringspuljen/reports/2021-09"
CITIZENS = "/api/v1/pools/afklaringspuljen/municipalities/101/citizens?month=2021-09"
BIR_REPORT = "/api/v1/pools/bir/reports/2021-04"
BIR_CITIZENS = "/api/v1/pools/bir/municipalities/101/citizens?month=2021-04"


def demo_log(work: Path) -> Path:
    source = ROOT / "out" / "demo-seed1.jsonl.gz"
    if not source.exists():
        source = work / "demo-seed1.jsonl.gz"
        if not source.exists():
            subprocess.run(
                [sys.executable, "-m", "puljemonitor", "demo-data", "--seed", "1", "--out", str(source)], check=True
            )
    copy = work / "serve-demo.jsonl.gz"
    shutil.copyfile(source, copy)
    return copy


async def load(base: str, path: str, headers: dict, clients: int, requests: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for _ in todo:
                start = time.perf_counter()
                response = await client.get(path, headers=headers)
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text[:200]

        began = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(clients))), timeout=300)
        return latencies, time.perf_counter() - began


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


async def fan_out(port: int, log: Path, subscribers: int, lines: list[dict]) -> tuple[float, float, int]:
    """Subscribers on plain sockets (a raw HTTP/1.1 request, the bytes scanned for the event
    line): an HTTP client library would spend more of the shared cores than the server."""
    ready = asyncio.Semaphore(0)
    arrived: list[float] = []

    async def subscriber() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        writer.write(b"GET /api/v1/changes HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        seen, hello = b"", False
        try:
            while True:
                chunk = await reader.read(1 << 20)
                if not chunk:
                    raise ConnectionError("stream closed")
                seen = seen[-64:] + chunk
                if not hello and b"event: hello" in seen:
                    hello = True
                    ready.release()
                if b"event: figures" in seen:
                    arrived.append(time.perf_counter())
                    return
        finally:
            writer.close()

    tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
    opened = time.perf_counter()
    for _ in range(subscribers):
        await asyncio.wait_for(ready.acquire(), timeout=60)
    opening = time.perf_counter() - opened
    changed = time.perf_counter()
    with open(log, "ab") as f:
        f.write(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return max(arrived) - changed, opening, len(arrived)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=500)
    args = parser.parse_args()
    work = ROOT / "bench-data"
    work.mkdir(exist_ok=True)
    log = demo_log(work)
    tokens = work / "serve-tokens.txt"
    tokens.unlink(missing_ok=True)
    py = [sys.executable, "-m", "puljemonitor"]
    token = subprocess.run([*py, "token", "add", "--municipality", "101", "--tokens", str(tokens)],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    port = free_port()
    server = subprocess.Popen([*py, "serve", "--log", str(log), "--follow", "--port", str(port), "--tokens", str(tokens),
                               "--loglevel", "warning"], stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > 120:
                raise SystemExit("serve did not become ready in 120 s")
            time.sleep(0.1)
        print(f"ready after {time.perf_counter() - started:.1f} s (replay of {log.name})")
        auth = {"Authorization": f"Bearer {token}"}
        for name, path, headers in (
            ("report 2021-09, public", REPORT, {}),
            ("citizens of 101, token", CITIZENS, auth),
            ("BIR report 2021-04, public", BIR_REPORT, {}),
            ("BIR citizens of 101 2021-04, token", BIR_CITIZENS, auth),
        ):
            first = time.perf_counter()
            httpx.get(base + path, headers=headers, timeout=120).raise_for_status()
            cold = time.perf_counter() - first
            latencies, elapsed = asyncio.run(load(base, path, headers, args.clients, args.requests))
            print(f"{name}: first (cold) {cold * 1000:.0f} ms; {args.clients} clients x {args.requests} requests: "
                  f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
                  f"{args.requests / elapsed:.0f} requests/s")  # fmt: skip
        size = len(httpx.get(base + CITIZENS, headers=auth, timeout=60).content)
        print(f"(citizens of 101: {size / 1e6:.1f} MB of JSON per answer)")
        someone = httpx.get(base + CITIZENS, headers=auth, timeout=60).json()["citizens"][0]["pseudonym"]
        changes = {
            "a late benefit change (2023-01 on: 15 months of figures)": [
                {"type": "benefit_changed", "id": "bench-1", "citizen": someone, "at": "2023-01-01",
                 "benefit": "foertidspension", "recorded": "2023-02-01T12:00:00+01:00"}],
            "a new citizen (every month of the pool: 44 months of figures)": [
                {"type": "enrolled", "id": "bench-0", "citizen": "bench-citizen", "at": "2020-07-30",
                 "pool": "afklaringspuljen", "municipality": "101", "recorded": "2020-08-01T12:00:00+02:00"}],
        }  # fmt: skip
        for name, lines in changes.items():
            latest, opening, notified = asyncio.run(fan_out(port, log, args.subscribers, lines))
            print(f"{args.subscribers} SSE subscribers (opened in {opening:.1f} s), {name}: append -> last of "
                  f"{notified} notified {latest * 1000:.0f} ms (includes the follow poll, 200 ms at most)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
