"""Agora bus SDK for Python: an MDP worker and client.

Framing is ZeroMQ RFC 7/MDP 0.2 (https://rfc.zeromq.org/spec/7/) with RFC 8/MMI; bodies are
msgpack-RPC ([0, msgid, method, params] -> [1, msgid, error, result]; [2, method, params]).
It needs only pyzmq and msgpack (Debian: python3-zmq, python3-msgpack).

    Worker(endpoint, service, handlers).run()     # handlers[method](*params) -> result
    Client(endpoint).call(service, method, params)

    @public(params={"type": "string"})            # callable by the gateway for a signed-in user
    def greet(name): return "hello %s, from %s" % (name, current_user())

Several brokers: an endpoint listing them (`tcp://a:5555,tcp://b:5555`, as AGORA_BUS_URL may) makes
the Worker register with each (one socket and I/O thread per broker) and the Client spread its
calls over those connected (README "Several brokers").

`endpoint`, `heartbeat_ms` and `liveness` left as None come from AGORA_BUS_URL,
AGORA_HEARTBEAT_MS and AGORA_HEARTBEAT_LIVENESS (defaults tcp://127.0.0.1:5555, 2500, 3).
With AGORA_BUS_CURVE=on the socket is a CURVE client (docs/PROTOCOL.md §15): its own key pair
from AGORA_BUS_CERT (a secret certificate file), the broker's key from AGORA_BUS_SERVER_KEY
(40 Z85 characters or a certificate file); `curve=` overrides them (a dict of publickey,
secretkey, serverkey), `curve=False` turns CURVE off.
"""
import inspect
import json
import os
import queue
import socket as _socket
import sys
import threading
import time
import traceback

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

# RFC 7 frames and commands.
MDPC01 = b"MDPC01"
MDPW01 = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
MMI_SERVICE = b"mmi.service"
# The reserved method answering which handlers are public (docs/PROTOCOL.md §14).
DESCRIBE = "__describe__"
MAX_MSGID = 0xFFFFFFFF
MAX_SLOTS = 1024  # most requests one worker socket may offer to hold (READY options, docs/PROTOCOL.md §3)
# HEARTBEAT's options frame while draining, {"slots": 0}: send this socket no more requests (docs/PROTOCOL.md §3).
DRAIN = b"\x81\xa5slots\x00"

DEFAULT_BUS_URL = "tcp://127.0.0.1:5555"
DEFAULT_HEARTBEAT_MS = 2500
DEFAULT_LIVENESS = 3
DEFAULT_CONCURRENCY = 4

# The codes of lib/errors.ts this module raises itself, with the registry's message templates:
# a raise site fills each %s; AgoraError(code) without a message keeps them, as lib/errors.ts
# does (test/unit/sdk-errors.test.ts compares this table with the registry).
MESSAGES = {
    "AGORA_ERR_INTERNAL": "Internal error",
    "AGORA_ERR_BUS_TIMEOUT": "Call to %s.%s passed its deadline",
    "AGORA_ERR_BUS_DISCONNECTED": "Lost the connection to the broker",
    "AGORA_ERR_BUS_BAD_MESSAGE": "Malformed bus message: %s",
    "AGORA_ERR_RPC_NO_METHOD": "Service %s has no method %s",
    "AGORA_ERR_RPC_BAD_PARAMS": "Invalid parameters: %s",
}


class AgoraError(Exception):
    """A failure that travels on the bus as {code, message, data?} in the msgpack-RPC error slot."""

    def __init__(self, code, message=None, data=None):
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, code)
        self.data = data
        super().__init__(self.message)

    def to_wire(self):
        wire = {"code": self.code, "message": self.message}
        if self.data is not None:
            wire["data"] = self.data
        return wire

    @classmethod
    def from_wire(cls, wire):
        if isinstance(wire, dict) and isinstance(wire.get("code"), str):
            message = wire.get("message")
            return cls(wire["code"], message if isinstance(message, str) else "Remote error", wire.get("data"))
        return cls("AGORA_ERR_INTERNAL", wire if isinstance(wire, str) else "Remote error", wire)

    def __repr__(self):
        return "AgoraError(%r, %r)" % (self.code, self.message)


_INTERNAL = AgoraError("AGORA_ERR_INTERNAL").to_wire()


def pack(value):
    """msgpack with str as str and bytes as bin, so both survive the trip to TypeScript and back."""
    return msgpack.packb(value, use_bin_type=True)


def unpack(data):
    # strict_map_key=False: a map keyed by integers is valid msgpack and must not kill the request.
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def _is_msgid(v):
    return type(v) is int and 0 <= v <= MAX_MSGID


def decode_message(body):
    """(kind, msgid, method, params, error, result) of a msgpack-RPC body; raises ValueError."""
    m = unpack(body)
    if not isinstance(m, list) or not m or type(m[0]) is not int:
        raise ValueError("body is not a msgpack-rpc array")
    if m[0] == 0 and len(m) == 4 and _is_msgid(m[1]) and isinstance(m[2], str) and isinstance(m[3], list):
        return 0, m[1], m[2], m[3], None, None
    if m[0] == 1 and len(m) == 4 and _is_msgid(m[1]):
        return 1, m[1], None, None, m[2], m[3]
    if m[0] == 2 and len(m) == 3 and isinstance(m[1], str) and isinstance(m[2], list):
        return 2, None, m[1], m[2], None, None
    raise ValueError("not a msgpack-rpc request, response or notification")


def _peek_msgid(body):
    """The msgid of a request body that does not decode, read from its first items as the broker
    reads it (docs/PROTOCOL.md §3: a worker with slots is matched by it), else None: never 0,
    which could name another request of the same client (docs/PROTOCOL.md §6)."""
    try:
        items = msgpack.Unpacker(raw=False, strict_map_key=False)
        items.feed(body)
        if items.read_array_header() == 4:
            kind = items.unpack()
            if type(kind) is int and kind == 0:
                msgid = items.unpack()
                return msgid if _is_msgid(msgid) else None
    except Exception:
        pass
    return None


def endpoints_of(endpoint):
    """The brokers of an endpoint list: "tcp://a:5555,tcp://b:5555" names two."""
    return [e.strip() for e in endpoint.split(",") if e.strip()]


def decode_meta(frame):
    """The optional metadata frame as a dict; anything unreadable is {} (a plain worker ignores it)."""
    if not frame:
        return {}
    try:
        meta = unpack(frame)
    except Exception:
        return {}
    return meta if isinstance(meta, dict) else {}


def _now_ms():
    return time.time() * 1000.0


def env_config(env=None):
    """endpoint, heartbeat_ms, liveness, concurrency from the environment; ValueError naming every bad variable."""
    env = os.environ if env is None else env
    problems = []

    def integer(name, default, lo, hi):
        raw = env.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw, 10)
            if lo <= value <= hi:
                return value
        except ValueError:
            pass
        problems.append("%s must be an integer from %d to %d, got %r" % (name, lo, hi, raw))
        return default

    config = {
        "curve": _curve_config(env, problems),
        "endpoint": env.get("AGORA_BUS_URL") or DEFAULT_BUS_URL,
        "heartbeat_ms": integer("AGORA_HEARTBEAT_MS", DEFAULT_HEARTBEAT_MS, 10, 600000),
        "liveness": integer("AGORA_HEARTBEAT_LIVENESS", DEFAULT_LIVENESS, 1, 100),
        "concurrency": integer("AGORA_WORKER_CONCURRENCY", DEFAULT_CONCURRENCY, 1, MAX_SLOTS),
    }
    if problems:
        raise ValueError("invalid configuration: " + "; ".join(problems))
    return config


def _curve_config(env, problems):
    """AGORA_BUS_CURVE, AGORA_BUS_CERT, AGORA_BUS_SERVER_KEY as pyzmq's CURVE options, or None when off."""
    mode = (env.get("AGORA_BUS_CURVE") or "off").strip().lower()
    if mode == "off":
        return None
    if mode != "on":
        problems.append("AGORA_BUS_CURVE must be one of on, off, got %r" % mode)
        return None
    import zmq.auth  # only needed with CURVE

    curve = {}
    cert = env.get("AGORA_BUS_CERT", "")
    try:
        if cert == "":
            raise ValueError("must name a secret certificate file when AGORA_BUS_CURVE is on")
        public, secret = zmq.auth.load_certificate(cert)
        if secret is None:
            raise ValueError("%s holds no secret key (a public certificate?)" % cert)
        curve["publickey"], curve["secretkey"] = public, secret
    except (OSError, ValueError) as e:
        problems.append("AGORA_BUS_CERT %s" % e)
    server = env.get("AGORA_BUS_SERVER_KEY", "")
    try:
        if server == "":
            raise ValueError("must be the broker's public key (Z85) or its certificate file")
        if len(server) == 40 and not server.endswith(".key"):
            curve["serverkey"] = server.encode("ascii")
        else:
            curve["serverkey"] = zmq.auth.load_certificate(server)[0]
    except (OSError, ValueError) as e:
        problems.append("AGORA_BUS_SERVER_KEY %s" % e)
    return curve


def apply_curve(sock, curve):
    """Make `sock` a CURVE client with `curve` (publickey, secretkey, serverkey; Z85 bytes); None: NULL."""
    if curve:
        sock.curve_secretkey = curve["secretkey"]
        sock.curve_publickey = curve["publickey"]
        sock.curve_serverkey = curve["serverkey"]


def _curve_of(curve):
    """The `curve=` argument: None takes the environment's (env_config), False is none."""
    if curve is None:
        return env_config()["curve"]
    return curve or None


LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60, "silent": 100}


class JsonLog:
    """pino-shaped JSON lines ({level, time, pid, hostname, svc, ..., msg}); stderr unless told."""

    def __init__(self, svc, stream=None, level=None, _base=None, _lock=None):
        self.stream = stream if stream is not None else sys.stderr
        self.min = LEVELS.get(level or os.environ.get("AGORA_LOG_LEVEL") or "info", 30)
        self.base = _base or {"pid": os.getpid(), "hostname": _socket.gethostname(), "svc": svc}
        self._lock = _lock or threading.Lock()

    def child(self, **fields):
        child = JsonLog(None, self.stream, None, {**self.base, **fields}, self._lock)
        child.min = self.min
        return child

    def log(self, level, msg, **fields):
        if LEVELS[level] < self.min:
            return
        line = {"level": LEVELS[level], "time": int(time.time() * 1000), **self.base, **fields, "msg": msg}
        text = json.dumps(line, default=repr, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def debug(self, msg, **fields):
        self.log("debug", msg, **fields)

    def info(self, msg, **fields):
        self.log("info", msg, **fields)

    def warn(self, msg, **fields):
        self.log("warn", msg, **fields)

    def error(self, msg, **fields):
        self.log("error", msg, **fields)


def err_fields(e):
    """An exception as pino's `err` serializer shapes it, for the worker's own log only."""
    return {"type": type(e).__name__, "message": str(e),
            "stack": "".join(traceback.format_exception(type(e), e, e.__traceback__))}


def _signature(handler):
    """The handler's signature, read once; None when it has none to read (some builtins): the call decides."""
    try:
        return inspect.signature(handler)
    except (TypeError, ValueError):
        return None


def _call_handler(handler, signature, method, params):
    if signature is not None:
        try:
            signature.bind(*params)
        except TypeError as e:
            raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: %s: %s" % (method, e))
    return handler(*params)


_call = threading.local()


def current_meta():
    """The metadata frame of the request the calling handler serves ({} outside a handler)."""
    return getattr(_call, "meta", None) or {}


def current_user():
    """The signed-in user the gateway calls a public method for (metadata `user`), else None."""
    user = current_meta().get("user")
    return user if isinstance(user, str) else None


def public(fn=None, *, params=None, result=None, summary=None):
    """Mark a handler public: the gateway may call it for a signed-in user, as
    POST /v1/rpc/<service>/<method> with the JSON body as its one param (docs/PROTOCOL.md §14).
    `params` and `result` are JSON Schemas (dicts, draft-07) of that param and of the result;
    `summary` defaults to the first line of the docstring. Use as @public or @public(params=...).
    The Worker answers `__describe__` from the marks of its handlers."""

    def mark(handler):
        spec = {}
        if params is not None:
            spec["params"] = params
        if result is not None:
            spec["result"] = result
        doc = summary if summary is not None else (inspect.getdoc(handler) or "").split("\n")[0]
        if doc:
            spec["summary"] = doc
        handler.agora_public = spec
        return handler

    return mark if fn is None else mark(fn)


def describe(handlers):
    """The answer to `__describe__` for these handlers: {"methods": {name: spec}} of the public ones."""
    methods = {}
    for name, handler in handlers.items():
        spec = getattr(handler, "agora_public", None)
        if isinstance(spec, dict) and not name.startswith("__"):
            methods[name] = spec
    return {"methods": methods}


class Worker:
    """Serve `handlers` (a dict: method name -> function) as `service` on the bus.

    A handler is called as handlers[method](*params) and returns a msgpack-able result; it
    fails the call by raising AgoraError(code, message, data). Any other exception answers
    AGORA_ERR_INTERNAL "Internal error" and is logged with its stack (its text never travels).
    Params that do not fit the handler's signature answer AGORA_ERR_RPC_BAD_PARAMS. Handlers
    marked @public are listed by the `__describe__` method the worker adds (docs/PROTOCOL.md §14).

    One worker socket, driven by the thread calling run(), serves `concurrency` requests at
    once (1 to 1024): above 1 its READY offers that many slots (docs/PROTOCOL.md §3, Agora's
    extension), and with 1 it is a plain RFC 7 worker. Handlers run on `concurrency` daemon
    threads, so heartbeats keep flowing during a long call. `on_ready()` is called (on the
    run() thread) once the socket has connected to the broker.
    """

    def __init__(self, endpoint, service, handlers, heartbeat_ms=None, liveness=None, concurrency=1,
                 on_ready=None, log=None, drain_ms=10000, curve=None):
        config = env_config()
        self.curve = config["curve"] if curve is None else (curve or None)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_SLOTS:
            raise ValueError("concurrency must be an integer from 1 to %d, got %r" % (MAX_SLOTS, concurrency))
        self.endpoint = endpoint or config["endpoint"]
        self.service = service
        self.handlers = dict(handlers)
        if DESCRIBE not in self.handlers:
            description = describe(self.handlers)
            self.handlers[DESCRIBE] = lambda: description
        self._signatures = {method: _signature(handler) for method, handler in self.handlers.items()}
        self.heartbeat_s = (heartbeat_ms or config["heartbeat_ms"]) / 1000.0
        self.liveness = liveness or config["liveness"]
        self.concurrency = concurrency
        self.on_ready = on_ready
        self.log = (log or JsonLog(service)).child(mod="bus-worker", service=service)
        self.drain_s = drain_ms / 1000.0
        # Several brokers: one Worker per broker, each with its own socket, run on its own thread.
        self._links = None
        if len(endpoints_of(self.endpoint)) > 1:
            self._ready_lock = threading.Lock()
            base = log or JsonLog(service)
            self._links = [
                Worker(e, service, handlers, heartbeat_ms=heartbeat_ms, liveness=liveness, concurrency=concurrency,
                       on_ready=self._link_ready, log=base.child(broker=e), drain_ms=drain_ms, curve=self.curve or False)
                for e in endpoints_of(self.endpoint)
            ]
        self._stopping = False
        self._draining = False  # the I/O loop has begun the stop (stop() only asks for it)
        self._ran = False
        self._announced = False
        self._socket = None
        self._monitor = None
        self._generation = 0  # bumped at each new socket: a late reply is not sent on a newer one
        self._in_flight = 0  # requests of the current socket not answered yet
        self._disconnected = False  # DISCONNECT said (or heard while stopping): nothing more to send
        self._asked = False  # our heartbeats ask the broker for no more requests (drain, docs/PROTOCOL.md §3)
        self._linked = False  # the socket has a TCP connection to the broker
        self._expiry = 0.0
        self._jobs = queue.SimpleQueue()
        self._done = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def stop(self):
        """Stop taking work, finish what is in flight, say DISCONNECT. Safe from signal handlers and threads."""
        self._stopping = True
        if self._links is not None:
            for link in self._links:
                link.stop()
            return
        self._wake()

    def run(self):
        """Serve until stop(); returns True once in-flight requests are answered and DISCONNECT said,
        False when drain_ms passed first (the calls still held are lost). With several brokers: on
        each, and True only when every one drained in time."""
        if self._ran:
            raise RuntimeError("Worker.run() may be called once")
        self._ran = True
        if self._links is not None:
            return self._run_links()
        self._ctx = zmq.Context()
        self._poller = zmq.Poller()
        self._poller.register(self._wake_r, zmq.POLLIN)
        for i in range(self.concurrency):
            threading.Thread(target=self._job_loop, name="agora-%s-%d" % (self.service, i), daemon=True).start()
        self._open()
        try:
            return self._loop()
        finally:
            self._shutdown()

    def _run_links(self):
        results = [None] * len(self._links)

        def serve(i, link):
            results[i] = link.run()

        threads = [threading.Thread(target=serve, args=(i, link), name="agora-%s-broker-%d" % (self.service, i),
                                    daemon=True) for i, link in enumerate(self._links)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # a timed join lets the main thread run its signal handlers
        os.close(self._wake_r)  # each link has its own; this one served nothing
        os.close(self._wake_w)
        return all(r is True for r in results)

    def _link_ready(self):
        """The first broker connected: the worker serves (the others register by themselves)."""
        with self._ready_lock:
            if self._announced:
                return
            self._announced = True
        if self.on_ready is not None:
            self.on_ready()

    # ---- the I/O loop (owns the socket: zmq sockets are not thread-safe) ----

    def _loop(self):
        next_tick = time.monotonic() + self.heartbeat_s
        drain_until = None
        while True:
            if self._stopping and drain_until is None:
                drain_until = time.monotonic() + self.drain_s
                self._begin_stop()
            if drain_until is not None and self._disconnected:
                return True
            if drain_until is not None and time.monotonic() >= drain_until:
                self.log.warn("drain timed out", busy=self._in_flight, drain_ms=int(self.drain_s * 1000))
                return False
            wait = next_tick - time.monotonic()
            if drain_until is not None:
                wait = min(wait, drain_until - time.monotonic())
            for sock, _ in self._poller.poll(max(0, int(wait * 1000))):
                if sock == self._wake_r:
                    self._drain_wake()
                elif sock is self._monitor:
                    self._on_monitor(sock)
                elif sock is self._socket:
                    self._receive()
            self._finish_jobs()
            now = time.monotonic()
            if now >= next_tick:
                # A late tick is our own stall, not the broker's silence: push the expiry back by it.
                # Reading first is not enough: libzmq may not have moved what arrived meanwhile
                # into the socket yet (docs/PROTOCOL.md §5).
                self._expiry += now - next_tick
                self._tick()
                next_tick = now + self.heartbeat_s

    def _open(self):
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 1000)
        sock.setsockopt(zmq.RCVHWM, 1000)
        # The monitor tells when the broker can hear this socket: its silence only counts then.
        self._linked = False
        self._monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        self._poller.register(self._monitor, zmq.POLLIN)
        apply_curve(sock, self.curve)
        sock.connect(self.endpoint)
        self._poller.register(sock, zmq.POLLIN)
        self._socket = sock
        self._generation += 1
        self._in_flight = 0  # the calls of the old socket were failed by the broker that held them
        self._expiry = time.monotonic() + self.heartbeat_s * self.liveness
        ready = [b"", MDPW01, READY, self.service.encode()]
        if self.concurrency > 1:
            ready.append(pack({"slots": self.concurrency}))  # Agora's READY options (docs/PROTOCOL.md §3)
        self._send(ready)

    def _close(self, linger_ms):
        self._drop_monitor()
        if self._socket is not None:
            self._poller.unregister(self._socket)
            self._socket.close(linger=linger_ms)
            self._socket = None

    def _reconnect(self, reason):
        self.log.info("reconnecting to broker", reason=reason)
        # No linger: a READY or HEARTBEAT still queued in the old socket must not reach a broker
        # that comes up later, which would register a worker that never answers.
        self._close(0)
        self._open()

    def _send(self, frames):
        try:
            self._socket.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.debug("send dropped: queue to broker full")

    def _tick(self):
        """RFC 7 §Heartbeating: send ours every interval; a broker silent for liveness intervals means reconnect."""
        if self._disconnected:
            return
        # Not while the broker is unreachable: the queued READY reaches it when it is back,
        # and a socket abandoned just then would stay registered, swallowing requests.
        if time.monotonic() >= self._expiry and not self._stopping and self._linked:
            self._reconnect("broker silent")
        else:
            self._heartbeat()

    def _heartbeat(self):
        # While draining every HEARTBEAT repeats the ask: a send lost to a full queue is made good.
        self._send([b"", MDPW01, HEARTBEAT, DRAIN] if self._asked else [b"", MDPW01, HEARTBEAT])

    def _receive(self):
        sock = self._socket
        while sock is not None and self._socket is sock:
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            self._on_frames(frames)

    def _on_frames(self, frames):
        if len(frames) < 3 or frames[0] != b"" or frames[1] != MDPW01 or len(frames[2]) != 1:
            self.log.warn("dropped malformed message from broker", frames=len(frames))
            return
        self._expiry = time.monotonic() + self.heartbeat_s * self.liveness
        command = frames[2]
        if command == REQUEST:
            self._on_request(frames)
        elif command == DISCONNECT:
            if self._stopping:
                self._disconnected = True  # the broker has forgotten us: nothing more to say
            else:
                self._reconnect("broker said DISCONNECT")
        elif command != HEARTBEAT:
            self.log.warn("dropped unknown command from broker", command=command.hex())

    def _on_request(self, frames):
        """[""][MDPW01][REQUEST][client][""][body][meta?]"""
        if len(frames) < 6 or frames[4] != b"" or self._disconnected or self._in_flight >= self.concurrency:
            self.log.warn("dropped request", frames=len(frames), in_flight=self._in_flight, disconnected=self._disconnected)
            return
        client, body = frames[3], frames[5]
        meta = decode_meta(frames[6] if len(frames) > 6 else None)
        self._in_flight += 1
        job = self._prepare(body, meta)
        if isinstance(job, bytes):
            self._done.put((self._generation, client, job))
        else:
            self._jobs.put((self._generation, client, job))

    def _prepare(self, body, meta):
        """The reply body when it needs no handler, else a function computing it on a job thread."""
        try:
            kind, msgid, method, params, _, _ = decode_message(body)
        except Exception as e:
            error = AgoraError("AGORA_ERR_BUS_BAD_MESSAGE", "Malformed bus message: %s" % e)
            return pack([1, _peek_msgid(body), error.to_wire(), None])
        if kind == 1:
            return b""  # a response sent to a worker: nothing to answer, but REPLY frees the slot

        def respond(error, result):
            # A notification is answered by one empty body: MDP needs the REPLY to free the slot.
            return b"" if msgid is None else pack([1, msgid, error, None if error is not None else result])

        deadline = meta.get("deadline")
        if isinstance(deadline, (int, float)) and not isinstance(deadline, bool) and deadline <= _now_ms():
            return respond(AgoraError("AGORA_ERR_BUS_TIMEOUT", "Call to %s.%s passed its deadline" % (self.service, method)).to_wire(), None)
        handler = self.handlers.get(method)
        if handler is None:
            return respond(AgoraError("AGORA_ERR_RPC_NO_METHOD", "Service %s has no method %s" % (self.service, method)).to_wire(), None)
        return lambda: self._invoke(handler, self._signatures[method], method, params, meta, respond)

    def _invoke(self, handler, signature, method, params, meta, respond):
        """Runs on a job thread; never raises."""
        req_id = meta.get("reqId") if isinstance(meta.get("reqId"), str) else None
        _call.meta = meta
        self.log.debug("call", method=method, reqId=req_id, caller=meta["caller"] if isinstance(meta.get("caller"), str) else "bus")
        try:
            result, error = _call_handler(handler, signature, method, params), None
        except AgoraError as e:
            result, error = None, e.to_wire()
        except Exception as e:
            self.log.error("handler failed", err=err_fields(e), method=method, reqId=req_id)
            result, error = None, _INTERNAL
        finally:
            _call.meta = None
        self.log.debug("call done", method=method, reqId=req_id, ok=error is None)
        try:
            return respond(error, result)
        except Exception as e:
            self.log.error("reply could not be encoded", err=err_fields(e), method=method, reqId=req_id)
            return respond(_INTERNAL, None)

    def _job_loop(self):
        while True:
            item = self._jobs.get()
            if item is None:
                return
            generation, client, job = item
            body = None
            try:
                body = job()
            except BaseException as e:  # SystemExit and the like: answer, and keep this thread serving
                self.log.error("handler escaped", err=err_fields(e))
            finally:
                if body is None:
                    body = pack([1, 0, _INTERNAL, None])
                self._done.put((generation, client, body))
                self._wake()

    def _finish_jobs(self):
        """Send the REPLY of every finished request whose socket is still the one it came on."""
        while True:
            try:
                generation, client, body = self._done.get_nowait()
            except queue.Empty:
                return
            if generation != self._generation or self._socket is None or self._disconnected:
                continue  # the socket was replaced, or the broker forgot us: it already failed that call
            self._in_flight -= 1
            # With slots, the broker matches the REPLY by client address and the response's msgid.
            self._send([b"", MDPW01, REPLY, client, b"", body])
            if self._draining and self._in_flight == 0:
                self._say_disconnect()

    def _begin_stop(self):
        self._draining = True
        self._receive()  # a REQUEST already here is served, not lost to our DISCONNECT (docs/PROTOCOL.md §3)
        self.log.info("draining", busy=self._in_flight)
        if self._in_flight == 0 and not self._disconnected:
            self._say_disconnect()
        elif self.concurrency > 1 and not self._disconnected:
            # Under load the broker fills each slot a REPLY frees, so a worker with slots would
            # never hold nothing: ask for no more. A plain worker holds nothing after each REPLY.
            self._asked = True
            self.log.info("draining: asked the broker for no more requests", inFlight=self._in_flight)
            self._heartbeat()

    def _say_disconnect(self):
        """RFC 7: only once nothing is held, so the broker serves elsewhere only what never ran."""
        self._send([b"", MDPW01, DISCONNECT])
        self._disconnected = True

    def _shutdown(self):
        self._close(1000)  # linger lets DISCONNECT and the last REPLY leave
        for _ in range(self.concurrency):
            self._jobs.put(None)
        self._ctx.term()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.log.info("stopped")

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is already pending) or closed

    def _drain_wake(self):
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    # ---- the link to the broker: the socket monitor's CONNECTED and DISCONNECTED events ----

    def _on_monitor(self, mon):
        while self._monitor is mon:
            try:
                event = recv_monitor_message(mon, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_DISCONNECTED:
                self._linked = False
            elif event["event"] == zmq.EVENT_CONNECTED:
                # The broker's silence counts from when it can hear us: a READY reaching a broker
                # just (re)started must not be abandoned before its first HEARTBEAT arrives.
                self._linked = True
                self._expiry = time.monotonic() + self.heartbeat_s * self.liveness
                if not self._announced:
                    self._announced = True
                    if self.on_ready is not None:
                        self.on_ready()

    def _drop_monitor(self):
        if self._monitor is None:
            return
        self._poller.unregister(self._monitor)
        try:
            self._socket.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.close(linger=0)
        self._monitor = None


class Client:
    """Call services on the bus. One socket; use a Client from one thread at a time.

    With several brokers the socket connects to each and libzmq hands each call to the next one
    connected (ZMQ_IMMEDIATE: a broker whose connection is down gets none, and a call made while
    none is connected waits for one until its deadline). A call held by a broker lost meanwhile
    gets no answer: it fails at its deadline with AGORA_ERR_BUS_TIMEOUT (libzmq does not say
    which broker took a message, so the TypeScript client's fail-fast is not offered here)."""

    def __init__(self, endpoint=None, timeout_ms=5000, caller=None, curve=None):
        self.endpoint = endpoint or env_config()["endpoint"]
        self.timeout_ms = timeout_ms
        self.caller = caller
        self._ctx = zmq.Context()
        self._socket = self._ctx.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._several = len(endpoints_of(self.endpoint)) > 1
        if self._several:
            self._socket.setsockopt(zmq.IMMEDIATE, 1)  # queue only to brokers whose connection is up
        apply_curve(self._socket, _curve_of(curve))
        for endpoint in endpoints_of(self.endpoint):
            self._socket.connect(endpoint)
        self._next_id = 0
        self._stale_mmi = 0  # MMI answers carry no msgid: count those we gave up on, to skip them

    def call(self, service, method, params=(), timeout_ms=None, req_id=None, user=None):
        """service.method(*params): the result, or raises AgoraError (the remote one, or AGORA_ERR_BUS_TIMEOUT)."""
        self._next_id = 1 if self._next_id >= MAX_MSGID else self._next_id + 1
        msgid = self._next_id
        deadline = int(_now_ms() + (self.timeout_ms if timeout_ms is None else timeout_ms))
        meta = {"deadline": deadline}
        if req_id is not None:
            meta["reqId"] = req_id
        if self.caller is not None:
            meta["caller"] = self.caller
        if user is not None:
            meta["user"] = user  # counts under CURVE only from a key granted act_for_users
        self._send([b"", MDPC01, service.encode(), pack([0, msgid, method, list(params)]), pack(meta)], deadline)
        while True:
            frames = self._receive(deadline)
            if frames is None:
                raise AgoraError("AGORA_ERR_BUS_TIMEOUT", "Call to %s.%s passed its deadline" % (service, method))
            try:
                kind, got, _, _, error, result = decode_message(frames[3])
            except ValueError:
                continue
            if kind != 1 or got != msgid:
                continue  # a late answer to a call that timed out
            if error is not None:
                raise AgoraError.from_wire(error)
            return result

    def has_service(self, name, timeout_ms=None):
        """Whether the broker has a worker for `name` (RFC 8 mmi.service)."""
        deadline = int(_now_ms() + (self.timeout_ms if timeout_ms is None else timeout_ms))
        self._send([b"", MDPC01, MMI_SERVICE, name.encode()], deadline)
        while True:
            frames = self._receive(deadline, mmi=True)
            if frames is None:
                self._stale_mmi += 1
                raise AgoraError("AGORA_ERR_BUS_TIMEOUT", "Call to mmi.service passed its deadline")
            return frames[3] == b"200"

    def close(self):
        self._socket.close(linger=0)
        self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, frames, deadline):
        while True:
            try:
                self._socket.send_multipart(frames, flags=zmq.NOBLOCK)
                return
            except zmq.Again:
                left = deadline - _now_ms()
                # Several brokers (ZMQ_IMMEDIATE): none connected yet or now; wait for one.
                if not self._several or left <= 0 or not self._socket.poll(max(1, int(left)), zmq.POLLOUT):
                    raise AgoraError("AGORA_ERR_BUS_DISCONNECTED", "Broker unreachable: send queue full")

    def _receive(self, deadline, mmi=False):
        """The next [""][MDPC01][service][body] of the wanted kind (MMI or not), or None at the deadline."""
        while True:
            left = deadline - _now_ms()
            if left <= 0 or not self._socket.poll(max(1, int(left)), zmq.POLLIN):
                return None
            frames = self._socket.recv_multipart()
            if len(frames) < 4 or frames[0] != b"" or frames[1] != MDPC01 or frames[3] == b"":
                continue  # malformed, or the empty REPLY to a notification
            if frames[2].startswith(b"mmi."):
                if self._stale_mmi > 0:
                    self._stale_mmi -= 1
                    continue
                if mmi:
                    return frames
                continue
            if not mmi:
                return frames
