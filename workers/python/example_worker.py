#!/usr/bin/python3
"""The `pyecho` service: an example Python worker on the Agora bus.

Run: AGORA_BUS_URL=tcp://127.0.0.1:5555 /usr/bin/python3 workers/python/example_worker.py

stdout carries one line, {"ready": true, "endpoints": {"bus": …}, "service": "pyecho"}, printed
when the worker socket has connected to the broker (the ZeroMQ socket monitor's CONNECTED
event, so the READY frame is leaving; the broker registers us as soon as it reads it). It
serves AGORA_WORKER_CONCURRENCY (default 4) calls at once on that one socket.
Logs are JSON lines on stderr. SIGTERM or SIGINT: ask the broker for no more requests, finish
in-flight calls, DISCONNECT, exit 0 (1 when the drain outlasts 10 s and calls are lost).
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agora_bus import AgoraError, JsonLog, Worker, env_config, public  # noqa: E402

SERVICE = "pyecho"
MAX_SLEEP_MS = 60000


@public(params={}, result={}, summary="Answers its parameter unchanged")
def echo(x=None):
    """Answers its parameter unchanged (public: the gateway may call it for a signed-in user)."""
    return x


def add(a, b):
    """a + b for two numbers."""
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: add takes two numbers")
    return a + b


def upper(s):
    """The upper-case form of a string."""
    if not isinstance(s, str):
        raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: upper takes a string")
    return s.upper()


def fail(kind="bad-params"):
    """Fails on purpose: AGORA_ERR_RPC_BAD_PARAMS, or with kind "internal" an unexpected exception."""
    if kind == "internal":
        raise RuntimeError("an unexpected failure whose text must not leak")
    raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: fail always fails", {"kind": kind})


def sleep(ms):
    """Answers `ms` after that many milliseconds (heartbeats keep flowing meanwhile)."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_SLEEP_MS:
        raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: sleep takes an integer from 0 to %d" % MAX_SLEEP_MS)
    time.sleep(ms / 1000.0)
    return ms


def pid():
    """The process id of the worker that served the call."""
    return os.getpid()


def main():
    try:
        config = env_config()
    except ValueError as e:
        sys.stderr.write("%s: %s\n" % (SERVICE, e))
        return 78  # EX_CONFIG, as the TypeScript processes
    log = JsonLog(SERVICE)
    endpoint = config["endpoint"]

    def ready():
        line = {"ready": True, "endpoints": {"bus": endpoint}, "service": SERVICE}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        log.info("ready", endpoints={"bus": endpoint})

    handlers = {"echo": echo, "add": add, "upper": upper, "fail": fail, "sleep": sleep, "pid": pid}
    worker = Worker(endpoint, SERVICE, handlers, concurrency=config["concurrency"], on_ready=ready, log=log)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    return 0 if worker.run() else 1  # 1: drain_ms passed with calls still held


if __name__ == "__main__":
    sys.exit(main())
