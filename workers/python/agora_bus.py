"""Agora bus SDK for Python: an MDP worker and client.

Framing is ZeroMQ RFC 7/MDP 0.2 (https://rfc.zeromq.org/spec/7/) with RFC 8/MMI; bodies are
msgpack-RPC ([0, msgid, method, params] -> [1, msgid, error, result]; [2, method, params]).
It needs only pyzmq and msgpack (Debian: python3-zmq, python3-msgpack).

    Worker(endpoint, service, handlers).run()     # handlers[method](*params) -> result
    Client(endpoint).call(service, method, params)

`endpoint`, `heartbeat_ms` and `liveness` left as None come from AGORA_BUS_URL,
AGORA_HEARTBEAT_MS and AGORA_HEARTBEAT_LIVENESS (defaults tcp://127.0.0.1:5555, 2500, 3).
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
MAX_MSGID = 0xFFFFFFFF

DEFAULT_BUS_URL = "tcp://127.0.0.1:5555"
DEFAULT_HEARTBEAT_MS = 2500
DEFAULT_LIVENESS = 3

# The registry's messages for the codes this module raises itself (lib/errors.ts holds them all).
MESSAGES = {
    "AGORA_ERR_INTERNAL": "Internal error",
    "AGORA_ERR_BUS_TIMEOUT": "Call passed its deadline",
    "AGORA_ERR_BUS_DISCONNECTED": "Lost the connection to the broker",
    "AGORA_ERR_BUS_BAD_MESSAGE": "Malformed bus message",
    "AGORA_ERR_RPC_NO_METHOD": "Unknown method",
    "AGORA_ERR_RPC_BAD_PARAMS": "Invalid parameters",
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
    try:
        m = unpack(body)
        return m[1] if isinstance(m, list) and len(m) > 1 and _is_msgid(m[1]) else 0
    except Exception:
        return 0


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
    """endpoint, heartbeat_ms, liveness from the environment; ValueError naming every bad variable."""
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
        "endpoint": env.get("AGORA_BUS_URL") or DEFAULT_BUS_URL,
        "heartbeat_ms": integer("AGORA_HEARTBEAT_MS", DEFAULT_HEARTBEAT_MS, 10, 600000),
        "liveness": integer("AGORA_HEARTBEAT_LIVENESS", DEFAULT_LIVENESS, 1, 100),
    }
    if problems:
        raise ValueError("invalid configuration: " + "; ".join(problems))
    return config


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


_call = threading.local()


def current_meta():
    """The metadata frame of the request the calling handler serves ({} outside a handler)."""
    return getattr(_call, "meta", None) or {}


class _Slot:
    """One MDP worker socket: serves one request at a time (RFC 7)."""

    def __init__(self, index):
        self.index = index
        self.socket = None
        self.monitor = None
        self.generation = 0
        self.busy = False
        self.closed = False
        self.connected = False  # has connected at least once (for on_ready)
        self.linked = False  # the current socket has a TCP connection to the broker
        self.expiry = 0.0


class Worker:
    """Serve `handlers` (a dict: method name -> function) as `service` on the bus.

    A handler is called as handlers[method](*params) and returns a msgpack-able result; it
    fails the call by raising AgoraError(code, message, data). Any other exception answers
    AGORA_ERR_INTERNAL "Internal error" and is logged with its stack (its text never travels).
    Params that do not fit the handler's signature answer AGORA_ERR_RPC_BAD_PARAMS.

    `concurrency` worker sockets (each its own READY) are driven by the thread calling run();
    handlers run on `concurrency` daemon threads, so heartbeats keep flowing during a long call.
    `on_ready()` is called (on the run() thread) once every socket has connected to the broker.
    """

    def __init__(self, endpoint, service, handlers, heartbeat_ms=None, liveness=None, concurrency=1,
                 on_ready=None, log=None, drain_ms=10000):
        config = env_config()
        self.endpoint = endpoint or config["endpoint"]
        self.service = service
        self.handlers = dict(handlers)
        self.heartbeat_s = (heartbeat_ms or config["heartbeat_ms"]) / 1000.0
        self.liveness = liveness or config["liveness"]
        self.concurrency = max(1, int(concurrency))
        self.on_ready = on_ready
        self.log = (log or JsonLog(service)).child(mod="bus-worker", service=service)
        self.drain_s = drain_ms / 1000.0
        self._stopping = False
        self._ran = False
        self._announced = False
        self._slots = []
        self._sockets = {}
        self._monitors = {}
        self._jobs = queue.SimpleQueue()
        self._done = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def stop(self):
        """Stop taking work, finish what is in flight, say DISCONNECT. Safe from signal handlers and threads."""
        self._stopping = True
        self._wake()

    def run(self):
        """Serve until stop(); returns once in-flight requests are answered (or drain_ms passed)."""
        if self._ran:
            raise RuntimeError("Worker.run() may be called once")
        self._ran = True
        self._ctx = zmq.Context()
        self._poller = zmq.Poller()
        self._poller.register(self._wake_r, zmq.POLLIN)
        for i in range(self.concurrency):
            threading.Thread(target=self._job_loop, name="agora-%s-%d" % (self.service, i), daemon=True).start()
        self._slots = [_Slot(i) for i in range(self.concurrency)]
        for slot in self._slots:
            self._open(slot)
        try:
            self._loop()
        finally:
            self._shutdown()

    # ---- the I/O loop (owns every socket: zmq sockets are not thread-safe) ----

    def _loop(self):
        next_tick = time.monotonic() + self.heartbeat_s
        drain_until = None
        while True:
            if self._stopping and drain_until is None:
                drain_until = time.monotonic() + self.drain_s
                self._begin_stop()
            if drain_until is not None and (all(s.closed for s in self._slots) or time.monotonic() >= drain_until):
                return
            wait = next_tick - time.monotonic()
            if drain_until is not None:
                wait = min(wait, drain_until - time.monotonic())
            for sock, _ in self._poller.poll(max(0, int(wait * 1000))):
                if sock == self._wake_r:
                    self._drain_wake()
                elif sock in self._monitors:
                    self._on_monitor(sock)
                else:
                    self._receive(sock)
            self._finish_jobs()
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + self.heartbeat_s

    def _open(self, slot):
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 1000)
        sock.setsockopt(zmq.RCVHWM, 1000)
        # The monitor tells when the broker can hear this socket: its silence only counts then.
        slot.linked = False
        slot.monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        self._monitors[slot.monitor] = slot
        self._poller.register(slot.monitor, zmq.POLLIN)
        sock.connect(self.endpoint)
        self._poller.register(sock, zmq.POLLIN)
        self._sockets[sock] = slot
        slot.socket = sock
        slot.generation += 1
        slot.busy = False
        slot.expiry = time.monotonic() + self.heartbeat_s * self.liveness
        self._send(slot, [b"", MDPW01, READY, self.service.encode()])

    def _close(self, slot, linger_ms):
        self._drop_monitor(slot)
        if slot.socket is not None:
            self._poller.unregister(slot.socket)
            del self._sockets[slot.socket]
            slot.socket.close(linger=linger_ms)
            slot.socket = None

    def _reconnect(self, slot, reason):
        self.log.info("reconnecting to broker", reason=reason, slot=slot.index)
        self._close(slot, 0)
        self._open(slot)

    def _send(self, slot, frames):
        try:
            slot.socket.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.debug("send dropped: queue to broker full", slot=slot.index)

    def _tick(self):
        """RFC 7 §Heartbeating: send ours every interval; a broker silent for liveness intervals means reconnect."""
        now = time.monotonic()
        for slot in self._slots:
            if slot.closed:
                continue
            # Not while the broker is unreachable: the queued READY reaches it when it is back,
            # and a socket abandoned just then would stay registered, swallowing requests.
            if now >= slot.expiry and not self._stopping and slot.linked:
                self._reconnect(slot, "broker silent")
            else:
                self._send(slot, [b"", MDPW01, HEARTBEAT])

    def _receive(self, sock):
        slot = self._sockets.get(sock)
        while slot is not None and slot.socket is sock:
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            self._on_frames(slot, frames)

    def _on_frames(self, slot, frames):
        if len(frames) < 3 or frames[0] != b"" or frames[1] != MDPW01 or len(frames[2]) != 1:
            self.log.warn("dropped malformed message from broker", frames=len(frames))
            return
        slot.expiry = time.monotonic() + self.heartbeat_s * self.liveness
        command = frames[2]
        if command == REQUEST:
            self._on_request(slot, frames)
        elif command == DISCONNECT:
            if self._stopping:
                slot.closed = True  # the broker has forgotten us: nothing more to say
            else:
                self._reconnect(slot, "broker said DISCONNECT")
        elif command != HEARTBEAT:
            self.log.warn("dropped unknown command from broker", command=command.hex())

    def _on_request(self, slot, frames):
        """[""][MDPW01][REQUEST][client][""][body][meta?]"""
        if len(frames) < 6 or frames[4] != b"" or slot.busy or slot.closed:
            self.log.warn("dropped request", frames=len(frames), busy=slot.busy)
            return
        client, body = frames[3], frames[5]
        meta = decode_meta(frames[6] if len(frames) > 6 else None)
        slot.busy = True
        job = self._prepare(body, meta)
        if isinstance(job, bytes):
            self._done.put((slot, slot.generation, client, job))
        else:
            self._jobs.put((slot, slot.generation, client, job))

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
            # A notification is answered by one empty body: MDP needs the REPLY to make us idle.
            return b"" if msgid is None else pack([1, msgid, error, None if error is not None else result])

        deadline = meta.get("deadline")
        if isinstance(deadline, (int, float)) and not isinstance(deadline, bool) and deadline <= _now_ms():
            return respond(AgoraError("AGORA_ERR_BUS_TIMEOUT", "Call to %s.%s passed its deadline" % (self.service, method)).to_wire(), None)
        handler = self.handlers.get(method)
        if handler is None:
            return respond(AgoraError("AGORA_ERR_RPC_NO_METHOD", "Service %s has no method %s" % (self.service, method)).to_wire(), None)
        return lambda: self._invoke(handler, method, params, meta, respond)

    def _invoke(self, handler, method, params, meta, respond):
        """Runs on a job thread; never raises."""
        req_id = meta.get("reqId") if isinstance(meta.get("reqId"), str) else None
        _call.meta = meta
        self.log.debug("call", method=method, reqId=req_id, caller=meta["caller"] if isinstance(meta.get("caller"), str) else "bus")
        try:
            result, error = self._call_handler(handler, method, params), None
        except AgoraError as e:
            result, error = None, e.to_wire()
        except Exception as e:
            self.log.error("handler failed", err=err_fields(e), method=method, reqId=req_id)
            result, error = None, _INTERNAL
        finally:
            _call.meta = None
        try:
            return respond(error, result)
        except Exception as e:
            self.log.error("reply could not be encoded", err=err_fields(e), method=method, reqId=req_id)
            return respond(_INTERNAL, None)

    def _call_handler(self, handler, method, params):
        try:
            inspect.signature(handler).bind(*params)
        except TypeError as e:
            raise AgoraError("AGORA_ERR_RPC_BAD_PARAMS", "Invalid parameters: %s: %s" % (method, e))
        except ValueError:
            pass  # no introspectable signature (some builtins): let the call decide
        return handler(*params)

    def _job_loop(self):
        while True:
            item = self._jobs.get()
            if item is None:
                return
            slot, generation, client, job = item
            body = None
            try:
                body = job()
            except BaseException as e:  # SystemExit and the like: answer, and keep this thread serving
                self.log.error("handler escaped", err=err_fields(e))
            finally:
                if body is None:
                    body = pack([1, 0, _INTERNAL, None])
                self._done.put((slot, generation, client, body))
                self._wake()

    def _finish_jobs(self):
        """Send the REPLY of every finished request whose socket is still the one it came on."""
        while True:
            try:
                slot, generation, client, body = self._done.get_nowait()
            except queue.Empty:
                return
            if generation != slot.generation or slot.socket is None:
                continue  # the socket was replaced: the broker already failed that call
            slot.busy = False
            self._send(slot, [b"", MDPW01, REPLY, client, b"", body])
            if self._stopping and not slot.closed:
                self._send(slot, [b"", MDPW01, DISCONNECT])
                slot.closed = True

    def _begin_stop(self):
        for slot in self._slots:
            if slot.socket is not None:
                self._receive(slot.socket)  # a REQUEST already here is served, not lost to our DISCONNECT
        self.log.info("draining", busy=sum(1 for s in self._slots if s.busy))
        for slot in self._slots:
            if not slot.busy and not slot.closed:
                self._send(slot, [b"", MDPW01, DISCONNECT])
                slot.closed = True

    def _shutdown(self):
        for slot in self._slots:
            self._close(slot, 1000)  # linger lets DISCONNECT and the last REPLY leave
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
        slot = self._monitors[mon]
        while slot.monitor is mon:
            try:
                event = recv_monitor_message(mon, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_DISCONNECTED:
                slot.linked = False
            elif event["event"] == zmq.EVENT_CONNECTED:
                # The broker's silence counts from when it can hear us: a READY reaching a broker
                # just (re)started must not be abandoned before its first HEARTBEAT arrives.
                slot.linked = True
                slot.connected = True
                slot.expiry = time.monotonic() + self.heartbeat_s * self.liveness
                self._announce()

    def _announce(self):
        if not self._announced and all(s.connected for s in self._slots):
            self._announced = True
            if self.on_ready is not None:
                self.on_ready()

    def _drop_monitor(self, slot):
        if slot.monitor is None:
            return
        self._poller.unregister(slot.monitor)
        del self._monitors[slot.monitor]
        try:
            slot.socket.disable_monitor()
        except zmq.ZMQError:
            pass
        slot.monitor.close(linger=0)
        slot.monitor = None


class Client:
    """Call services on the bus. One socket; use a Client from one thread at a time."""

    def __init__(self, endpoint=None, timeout_ms=5000, caller=None):
        self.endpoint = endpoint or env_config()["endpoint"]
        self.timeout_ms = timeout_ms
        self.caller = caller
        self._ctx = zmq.Context()
        self._socket = self._ctx.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.connect(self.endpoint)
        self._next_id = 0
        self._stale_mmi = 0  # MMI answers carry no msgid: count those we gave up on, to skip them

    def call(self, service, method, params=(), timeout_ms=None, req_id=None):
        """service.method(*params): the result, or raises AgoraError (the remote one, or AGORA_ERR_BUS_TIMEOUT)."""
        self._next_id = 1 if self._next_id >= MAX_MSGID else self._next_id + 1
        msgid = self._next_id
        deadline = int(_now_ms() + (self.timeout_ms if timeout_ms is None else timeout_ms))
        meta = {"deadline": deadline}
        if req_id is not None:
            meta["reqId"] = req_id
        if self.caller is not None:
            meta["caller"] = self.caller
        self._send([b"", MDPC01, service.encode(), pack([0, msgid, method, list(params)]), pack(meta)])
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
        self._send([b"", MDPC01, MMI_SERVICE, name.encode()])
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

    def _send(self, frames):
        try:
            self._socket.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
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
