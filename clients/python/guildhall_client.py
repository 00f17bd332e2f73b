"""An asyncio client for the Guildhall WebSocket protocol, version 1.

Written from the protocol specification (``protocol/README.md``) alone. It speaks both codecs
(JSON in text frames, MessagePack with named keys in binary frames), matches replies by ``id``,
tracks ``(ep, off)`` per joined room as the spec's "Writing a client" section describes, drops
repeated ``chat.msg`` events (by offset) and duplicate messages (by message id), and resumes the
tracked rooms on :meth:`Client.reconnect`.

Usage::

    client = await connect("ws://127.0.0.1:7700/ws", codec="msgpack")
    me = await client.hello(token)
    joined = await client.join("chan:lobby")
    off = await client.send("chan:lobby", "gg")
    async for push in client:          # processed pushes (repeats and duplicates removed)
        ...
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import msgpack
import websockets
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsConnectionClosed

PROTOCOL_VERSION = 1
CODECS = ("json", "msgpack")
DEFAULT_TIMEOUT = 10.0

__all__ = [
    "CODECS",
    "Client",
    "ConnectionLost",
    "GuildhallError",
    "connect",
    "decode",
    "encode",
]


class GuildhallError(Exception):
    """A reply with ``ok: false``. ``frame`` is the whole reply (its ``id`` may be absent)."""

    def __init__(self, code: str, msg: str, retry_ms: Optional[int] = None, frame: Optional[dict] = None):
        super().__init__(f"{code}: {msg}" + (f" (retry in {retry_ms} ms)" if retry_ms is not None else ""))
        self.code = code
        self.msg = msg
        self.retry_ms = retry_ms
        self.frame = frame or {}


class ConnectionLost(Exception):
    """The connection closed before a reply arrived. ``code`` is the close code (None: no close frame)."""

    def __init__(self, code: Optional[int], reason: str = ""):
        super().__init__(f"connection closed (code {code}, reason {reason!r})")
        self.code = code
        self.reason = reason


# --- codecs -------------------------------------------------------------------------------------


def _strip_none(value: Any) -> Any:
    """Absent fields are omitted, never null (spec §2)."""
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_strip_none(v) for v in value]
    return value


def encode(frame: dict, codec: str):
    """One frame as a WebSocket message: ``str`` (JSON, a text frame) or ``bytes`` (MessagePack)."""
    frame = _strip_none(frame)
    if codec == "json":
        return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    if codec == "msgpack":
        # str family for strings, named keys, shortest integer forms (msgpack-python 1.x defaults).
        return msgpack.packb(frame, use_bin_type=True)
    raise ValueError(f"unknown codec {codec!r}")


def decode(message) -> Tuple[dict, str]:
    """A received WebSocket message as ``(frame, codec)``."""
    if isinstance(message, str):
        return json.loads(message), "json"
    return msgpack.unpackb(message, raw=False, strict_map_key=False), "msgpack"


# --- client -------------------------------------------------------------------------------------


class _Pending:
    __slots__ = ("id", "op", "future", "on_reply")

    def __init__(self, id_: int, op: str, future: asyncio.Future, on_reply: Optional[Callable[[dict], None]]):
        self.id = id_
        self.op = op
        self.future = future
        self.on_reply = on_reply


class Client:
    """One logical client; the WebSocket underneath is replaced by :meth:`reconnect`.

    State kept across reconnects: ``positions`` (room -> ``(ep, off)``), ``seen`` (room -> message
    ids already delivered), the token, and the push queue.
    """

    def __init__(self, url: str, codec: str = "json", timeout: float = DEFAULT_TIMEOUT):
        if codec not in CODECS:
            raise ValueError(f"codec must be one of {CODECS}, not {codec!r}")
        self.url = url
        self.codec = codec
        self.timeout = timeout
        self.token: Optional[str] = None
        self.user: Optional[dict] = None
        self.session: Optional[str] = None
        self.heartbeat_ms: Optional[int] = None
        # Per room: last processed (ep, off), and the ids of messages already delivered.
        self.positions: Dict[str, Tuple[str, int]] = {}
        self.seen: Dict[str, set] = collections.defaultdict(set)
        self.joined: set = set()
        # Processed pushes, for the application. None marks a closed connection.
        self.pushes: asyncio.Queue = asyncio.Queue()
        # Every push as received, before repeat/duplicate filtering (for diagnostics and tests).
        self.raw_pushes: List[dict] = []
        # Codec of every frame received, e.g. {"json": 12}.
        self.received_codecs: collections.Counter = collections.Counter()
        # Replies that carried no id (frame-level errors), matched to the oldest pending request.
        self.replies_without_id = 0
        # Rooms whose state must be reloaded (epoch changed or a gap was seen).
        self.reloads: List[str] = []
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self._ws = None
        self._reader: Optional[asyncio.Task] = None
        self._next_id = 1
        self._pending: "collections.OrderedDict[int, _Pending]" = collections.OrderedDict()
        self._background: set = set()

    # --- connection ---

    async def open(self) -> "Client":
        """Opens the WebSocket (no ``hello`` yet)."""
        self._ws = await ws_connect(self.url, max_size=1 << 20, open_timeout=self.timeout)
        self.close_code = None
        self.close_reason = ""
        self._next_id = 1
        self._reader = asyncio.create_task(self._read_loop(self._ws))
        return self

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    async def close(self) -> None:
        """Closes normally (1000)."""
        ws, reader = self._ws, self._reader
        if ws is not None:
            await ws.close()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)
        for task in list(self._background):
            task.cancel()

    def abort(self) -> None:
        """Drops the TCP connection without a close handshake (simulates network loss)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def wait_closed(self) -> None:
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    # --- requests ---

    async def request(self, op: str, d: Optional[dict] = None, idem: Optional[str] = None,
                      timeout: Optional[float] = None, on_reply: Optional[Callable[[dict], None]] = None) -> dict:
        """Sends an op and returns its reply's ``d``, or raises :class:`GuildhallError`.

        ``on_reply`` runs in the reader, in frame order, before any later push is processed.
        """
        if not self.connected:
            raise ConnectionLost(self.close_code, self.close_reason)
        id_ = self._next_id
        self._next_id += 1
        frame: dict = {"id": id_, "op": op}
        if idem is not None:
            frame["idem"] = idem
        frame["d"] = d if d is not None else {}
        future = asyncio.get_running_loop().create_future()
        self._pending[id_] = _Pending(id_, op, future, on_reply)
        try:
            await self._ws.send(encode(frame, self.codec))
        except WsConnectionClosed:
            self._pending.pop(id_, None)
            raise ConnectionLost(self.close_code, self.close_reason)
        try:
            reply = await asyncio.wait_for(future, timeout if timeout is not None else self.timeout)
        finally:
            self._pending.pop(id_, None)
        if reply.get("ok") is True:
            return reply.get("d", {})
        err = reply.get("err") or {}
        raise GuildhallError(err.get("code", "internal"), err.get("msg", ""), err.get("retry_ms"), reply)

    async def hello(self, token: str, resume: Optional[List[dict]] = None) -> dict:
        """Opens the session. ``resume``: ``[{room, ep, off}]``. Returns the hello result."""
        self.token = token
        d: dict = {"token": token, "v": PROTOCOL_VERSION}
        if resume:
            d["resume"] = resume

        def on_reply(reply: dict) -> None:
            if reply.get("ok") is not True:
                return
            result = reply.get("d", {})
            for entry in result.get("resumed", []):
                room = entry.get("room")
                if entry.get("recovered") is True:
                    self.joined.add(room)  # missed events follow as pushes
                elif "ep" in entry:
                    # In the room again, but what was missed is gone: track the new position.
                    self.joined.add(room)
                    self.positions[room] = (entry["ep"], entry["off"])
                else:
                    # Not in the room: the tracked position is useless; reconnect() joins afresh.
                    self.positions.pop(room, None)

        result = await self.request("hello", d, on_reply=on_reply)
        self.user = result.get("user")
        self.session = result.get("session")
        self.heartbeat_ms = result.get("heartbeat_ms")
        return result

    async def ping(self) -> int:
        return (await self.request("ping"))["t"]

    async def join(self, room: str, since: Optional[Tuple[str, int]] = None) -> dict:
        """``room.join``; updates the tracked position and seeds the dedupe set from ``history``."""
        d: dict = {"room": room}
        if since is not None:
            d["since"] = {"ep": since[0], "off": since[1]}

        def on_reply(reply: dict) -> None:
            if reply.get("ok") is not True:
                return
            result = reply.get("d", {})
            self.joined.add(room)
            for msg in result.get("history", []) or []:
                self.seen[room].add(msg.get("id"))
            if result.get("recovered") is True:
                # §8 rule 2: keep the position; the replayed pushes advance it.
                if room not in self.positions and since is not None:
                    self.positions[room] = (since[0], since[1])
                return
            # §8 rule 1: take the reply's position unless a push of that epoch went further.
            ep, off = result.get("ep"), result.get("off")
            current = self.positions.get(room)
            if current is not None and current[0] == ep and current[1] > off:
                return
            self.positions[room] = (ep, off)

        return await self.request("room.join", d, on_reply=on_reply)

    async def leave(self, room: str) -> dict:
        result = await self.request("room.leave", {"room": room})
        self.joined.discard(room)
        self.positions.pop(room, None)
        return result

    async def send(self, room: str, text: str, idem: Optional[str] = None, retries: int = 3,
                   max_wait_ms: int = 10_000) -> int:
        """``chat.send`` with an ``idem`` (a fresh one unless given); returns the message's ``off``.

        On ``rate_limited`` it waits ``retry_ms`` (at most ``max_wait_ms``) and on ``unavailable``
        it backs off, then resends with the same ``idem``, up to ``retries`` times (§15 step 6).
        """
        if idem is None:
            idem = uuid.uuid4().hex
        attempt = 0
        while True:
            try:
                return (await self.request("chat.send", {"room": room, "text": text}, idem=idem))["off"]
            except GuildhallError as err:
                if attempt >= retries or err.code not in ("rate_limited", "unavailable"):
                    raise
                if err.code == "rate_limited":
                    wait_ms = err.retry_ms if err.retry_ms is not None else 1000
                    if wait_ms > max_wait_ms:
                        raise
                else:
                    wait_ms = 250 * (2 ** attempt)
                attempt += 1
                await asyncio.sleep(wait_ms / 1000 + 0.01)

    async def history(self, room: str, before: Optional[int] = None, limit: Optional[int] = None) -> List[dict]:
        d: dict = {"room": room}
        if before is not None:
            d["before"] = before
        if limit is not None:
            d["limit"] = limit
        return (await self.request("chat.history", d))["msgs"]

    # --- reconnect ---

    def resume_entries(self) -> List[dict]:
        return [{"room": room, "ep": ep, "off": off} for room, (ep, off) in self.positions.items()][:64]

    async def reconnect(self, token: Optional[str] = None) -> dict:
        """Opens a new connection and resumes every tracked room; rooms not recovered are reloaded
        with ``room.join`` (and ``chat.history`` when the resume already re-joined them)."""
        if self._ws is not None:
            self.abort()
            await self.wait_closed()
        token = token or self.token
        if token is None:
            raise ValueError("reconnect needs a token (call hello first)")
        resume = self.resume_entries()
        self.joined.clear()
        await self.open()
        result = await self.hello(token, resume=resume)
        for entry in result.get("resumed", []):
            if entry.get("recovered") is True:
                continue
            room = entry.get("room")
            if "ep" in entry:
                # The resume re-joined the room: reload its recent messages.
                self._deliver_history(room, await self.history(room))
                continue
            try:
                await self.join(room)
            except GuildhallError:
                self.joined.discard(room)
        return result

    # --- pushes ---

    def __aiter__(self):
        return self

    async def __anext__(self) -> dict:
        while True:
            push = await self.pushes.get()
            if push is not None:
                return push
            if not self.connected:
                raise StopAsyncIteration
            # The close marker of a connection that reconnect() has replaced: skip it.

    async def next_push(self, ev: Optional[str] = None, room: Optional[str] = None,
                        timeout: Optional[float] = None) -> dict:
        """The next processed push matching ``ev``/``room``; others are discarded."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError()
            push = await asyncio.wait_for(self.pushes.get(), remaining)
            if push is None:
                if self.connected:
                    continue  # the close marker of a replaced connection
                raise ConnectionLost(self.close_code, self.close_reason)
            if (ev is None or push.get("ev") == ev) and (room is None or push.get("room") == room):
                return push

    def _deliver_history(self, room: str, msgs: List[dict]) -> None:
        for msg in sorted(msgs, key=lambda m: m.get("id", 0)):
            if msg.get("id") in self.seen[room]:
                continue
            self.seen[room].add(msg.get("id"))
            self.pushes.put_nowait({"ev": "chat.msg", "room": room, "d": msg, "reloaded": True})

    async def _reload(self, room: str) -> None:
        try:
            self._deliver_history(room, await self.history(room))
        except (GuildhallError, ConnectionLost, asyncio.TimeoutError):
            pass

    def _on_push(self, frame: dict) -> None:
        self.raw_pushes.append(frame)
        ev, room = frame.get("ev"), frame.get("room")
        if ev == "room.reset":
            # The room's log restarted: track the new position and reload (spec: room.reset).
            d = frame.get("d") or {}
            self.positions[room] = (d.get("ep"), d.get("off"))
            self.reloads.append(room)
            task = asyncio.ensure_future(self._reload(room))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        if "ep" in frame and "off" in frame:
            ep, off = frame["ep"], frame["off"]
            pos = self.positions.get(room)
            if pos is not None and ep == pos[0] and off <= pos[1]:
                return  # a repeat
            if pos is not None and ep != pos[0]:
                # The epoch changed: events may be missing. (A jump in `off` within an epoch is
                # events withheld from this connection, such as a blocked user's messages: §8.)
                self.reloads.append(room)
                task = asyncio.ensure_future(self._reload(room))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            self.positions[room] = (ep, off)
        if ev == "chat.msg":
            msg_id = (frame.get("d") or {}).get("id")
            if msg_id in self.seen[room]:
                return  # already delivered (history, or a repeat)
            self.seen[room].add(msg_id)
            self.pushes.put_nowait(frame)
        elif ev == "room.presence":
            self.pushes.put_nowait(frame)
        # Unknown events are ignored (spec §2).

    def _on_reply(self, frame: dict) -> None:
        pending = None
        if "id" in frame:
            pending = self._pending.get(frame["id"])
        elif self._pending:
            # A frame-level error has no id; replies go out in request order, so it answers
            # the oldest request still waiting.
            self.replies_without_id += 1
            pending = next(iter(self._pending.values()))
        if pending is None:
            return
        self._pending.pop(pending.id, None)
        if pending.on_reply is not None:
            pending.on_reply(frame)
        if not pending.future.done():
            pending.future.set_result(frame)

    async def _read_loop(self, ws) -> None:
        try:
            async for message in ws:
                try:
                    frame, codec = decode(message)
                except Exception:  # noqa: BLE001 - an undecodable frame from the server is skipped
                    continue
                self.received_codecs[codec] += 1
                if not isinstance(frame, dict):
                    continue
                if "ok" in frame:
                    self._on_reply(frame)
                elif "ev" in frame:
                    self._on_push(frame)
        except WsConnectionClosed:
            pass
        finally:
            rcvd = getattr(ws, "close_code", None)
            self.close_code = rcvd
            self.close_reason = getattr(ws, "close_reason", "") or ""
            error = ConnectionLost(self.close_code, self.close_reason)
            for pending in list(self._pending.values()):
                if not pending.future.done():
                    pending.future.set_exception(error)
            self._pending.clear()
            if ws is self._ws:
                self.pushes.put_nowait(None)


async def connect(url: str, codec: str = "json", timeout: float = DEFAULT_TIMEOUT) -> Client:
    """Opens a connection; call :meth:`Client.hello` next."""
    return await Client(url, codec, timeout).open()


_ = websockets  # the package itself is imported so that a missing install fails at import time
