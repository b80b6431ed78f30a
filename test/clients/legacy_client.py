#!/usr/bin/env python3
"""A client of the legacy messaging API (docs/API-LEGACY.md) in Python, standard library only,
as its clients are written: urllib's POST with a JSON body and urllib's default Content-Type
(form-encoded).

Usage: legacy_client.py BASE_URL USERNAME CHANNEL
Runs the whole scenario (logon, create, list, post, lastmessage, retrieve, a forged key,
logoff, the key refused after logoff) and prints one JSON line per call:
{"step": ..., "answer": <the server's JSON>}; a last line {"ok": true} or {"ok": false, "why": ...}.
Exits 0 only when every answer is the one docs/API-LEGACY.md specifies.
"""
import json
import sys
import urllib.request


def call(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode("utf-8"), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read().decode("utf-8"))
    return answer


class Scenario:
    def __init__(self, base, username, channel):
        self.base, self.username, self.channel = base, username, channel

    def step(self, name, path, body, expect):
        answer = call(self.base, path, body)
        print(json.dumps({"step": name, "answer": answer}), flush=True)
        if not expect(answer):
            raise AssertionError("%s answered %s" % (name, json.dumps(answer)))
        return answer["data"]

    def run(self):
        ok = lambda value: (lambda a: a == {"status": True, "data": value})
        failed = lambda a: a.get("status") is False and isinstance(a.get("data"), str)
        key = self.step("logon", "/logon", {"username": self.username, "password": "py-secret"},
                        lambda a: a["status"] is True and isinstance(a["data"], int) and 1 <= a["data"] <= 2 ** 53 - 1)
        self.step("create", "/create", {"sesskey": key, "channel": self.channel}, ok(True))
        self.step("list", "/list", {"sesskey": key},
                  lambda a: a["status"] is True and self.channel in a["data"])
        for text in ("hello from python", "caf\u00e9 \u20ac \U0001F600"):
            self.step("post", "/post", {"sesskey": key, "channel": self.channel, "message": text}, ok(True))
        last = self.step("lastmessage", "/lastmessage", {"sesskey": key, "channel": self.channel},
                         lambda a: a["status"] is True and isinstance(a["data"], int) and a["data"] >= 2)
        self.step("retrieve", "/retrieve", {"sesskey": key, "channel": self.channel, "first": last - 1, "last": last},
                  ok([{"messageid": last - 1, "username": self.username, "message": "hello from python"},
                      {"messageid": last, "username": self.username, "message": "caf\u00e9 \u20ac \U0001F600"}]))
        self.step("forged", "/list", {"sesskey": (key % (2 ** 53 - 2)) + 1}, failed)
        self.step("logoff", "/logoff", {"sesskey": key}, ok(True))
        self.step("after-logoff", "/list", {"sesskey": key}, failed)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    try:
        Scenario(argv[1].rstrip("/"), argv[2], argv[3]).run()
    except Exception as e:  # any failure is reported on the last line, for the test to show
        print(json.dumps({"ok": False, "why": "%s: %s" % (type(e).__name__, e)}), flush=True)
        return 1
    print(json.dumps({"ok": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
