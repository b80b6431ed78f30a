#!/usr/bin/python3
"""Call a bus service from Python and print the answer as one JSON line.

    AGORA_BUS_URL=tcp://127.0.0.1:5555 /usr/bin/python3 workers/python/example_client.py \\
        [--timeout-ms 5000] SERVICE METHOD [PARAM ...]

Each PARAM is JSON (`'"text"'`, `42`, `'{"a": [1, 2]}'`). Prints {"result": …} and exits 0,
or {"error": {"code", "message", "data"}} and exits 1. Bytes are printed as {"$bytes": hex}.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agora_bus import AgoraError, Client  # noqa: E402


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": bytes(value).hex()}
    raise TypeError("not JSON serializable: %s" % type(value).__name__)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout-ms", type=int, default=5000)
    parser.add_argument("service")
    parser.add_argument("method")
    parser.add_argument("params", nargs="*", help="one JSON value per parameter")
    args = parser.parse_args(argv)
    try:
        params = [json.loads(p) for p in args.params]
    except ValueError as e:
        parser.error("a parameter is not JSON: %s" % e)
    with Client(timeout_ms=args.timeout_ms, caller="example_client.py") as client:
        try:
            answer, code = {"result": client.call(args.service, args.method, params)}, 0
        except AgoraError as e:
            answer, code = {"error": {"code": e.code, "message": e.message, "data": e.data}}, 1
    sys.stdout.write(json.dumps(answer, default=_jsonable, ensure_ascii=False) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
