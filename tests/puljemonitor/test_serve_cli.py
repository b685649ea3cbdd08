"""``puljemonitor serve`` and ``puljemonitor token`` as an operator meets them: one clear line
and a distinct exit code for each mistake, a token printed once and stored as a hash, and a
revocation that a running server honours at once."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx2 as httpx
from click.testing import CliRunner

from puljemonitor.cli import main
from puljemonitor.cli_serve import EXIT_ADDRESS, EXIT_BAD_LOG, EXIT_NO_LOG, EXIT_TOKENS
from tests.puljemonitor.serve_world import A, running_server, write_log

runner = CliRunner()


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "puljemonitor", "serve", *args], capture_output=True, text=True, timeout=60
    )


def test_a_missing_log_is_one_line_and_its_own_exit_code(tmp_path):
    run = serve("--log", str(tmp_path / "nowhere.jsonl.gz"), "--port", "0")
    assert run.returncode == EXIT_NO_LOG == 66
    assert run.stderr.strip().splitlines() == [f"puljemonitor serve: no such log file: {tmp_path / 'nowhere.jsonl.gz'}"]


def test_a_port_in_use_is_one_line_and_its_own_exit_code(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = serve("--log", str(log), "--port", str(port))
    assert run.returncode == EXIT_ADDRESS == 69
    assert run.stderr.strip().splitlines() == [
        f"puljemonitor serve: cannot listen on 127.0.0.1:{port}: port already in use"
    ]


def test_an_unreadable_tokens_file_is_one_line_and_its_own_exit_code(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    bad = tmp_path / "tokens.txt"
    bad.write_text("this is not a token line\n")
    run = serve("--log", str(log), "--port", "0", "--tokens", str(bad))
    assert run.returncode == EXIT_TOKENS == 78
    assert len(run.stderr.strip().splitlines()) == 1 and "tokens file" in run.stderr


def test_token_add_prints_the_token_once_and_stores_only_its_salted_hash(tmp_path):
    tokens = tmp_path / "tokens.txt"
    first = runner.invoke(main, ["token", "add", "--municipality", A, "--tokens", str(tokens)])
    second = runner.invoke(main, ["token", "add", "--municipality", A, "--tokens", str(tokens)])
    assert first.exit_code == second.exit_code == 0
    one, two = first.stdout.strip(), second.stdout.strip()
    assert one.startswith("pm1.") and one != two
    stored = tokens.read_text()
    assert one not in stored and one.split(".")[2] not in stored
    lines = stored.splitlines()
    assert len(lines) == 2 and all(line.split()[1] == A for line in lines)
    assert lines[0].split()[2] != lines[1].split()[2]  # a salt per token
    assert (tokens.stat().st_mode & 0o777) == 0o600
    listed = runner.invoke(main, ["token", "list", "--tokens", str(tokens)]).stdout
    assert one.split(".")[1] in listed and one not in listed
    assert runner.invoke(main, ["token", "add", "--tokens", str(tokens)]).exit_code == 2
    assert runner.invoke(main, ["token", "add", "--municipality", "999", "--tokens", str(tokens)]).exit_code == 2


def test_a_revoked_token_is_refused_by_a_running_server_without_a_restart(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    tokens = tmp_path / "tokens.txt"
    token = runner.invoke(main, ["token", "add", "--municipality", A, "--tokens", str(tokens)]).stdout.strip()
    url = f"/api/v1/pools/afklaringspuljen/municipalities/{A}/citizens?month=2021-09"
    with running_server(log, tokens=tokens) as (base, proc):
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base + url, headers=headers).status_code == 200
        revoked = runner.invoke(main, ["token", "revoke", token.split(".")[1], "--tokens", str(tokens)])
        assert revoked.exit_code == 0
        assert httpx.get(base + url, headers=headers).status_code == 401
        added = runner.invoke(main, ["token", "add", "--star", "--tokens", str(tokens)]).stdout.strip()
        assert httpx.get(base + url, headers={"Authorization": f"Bearer {added}"}).status_code == 200
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert token not in err and token.split(".")[2] not in err and added not in err
    assert "denied 401 role=invalid token (unknown or revoked)" in err
    assert "cit-101" not in err


def test_a_log_that_cannot_be_read_stops_the_server_with_one_line_and_its_own_exit_code(tmp_path):
    bad = tmp_path / "log.jsonl.gz"
    bad.write_bytes(b"this is not gzip")
    run = serve("--log", str(bad), "--port", "0", "--loglevel", "warning")
    assert run.returncode == EXIT_BAD_LOG == 65
    assert run.stderr.strip().splitlines()[-1].startswith(f"puljemonitor serve: cannot read the log {bad}: ")
    assert [line for line in run.stderr.splitlines() if "ERROR" in line or "Traceback" in line] == []
