#!/usr/bin/env python3
"""End-to-end smoke test of a Guildhall server, using guildhall_client.

    python3 smoke.py --url ws://127.0.0.1:7700/ws --token-a TOKEN --token-b TOKEN \
        --codec json|msgpack --room chan:NAME

Prints one line per check and a final "N passed, M failed"; exits 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
import uuid

INSTALL_HINT = "run: python3 -m pip install -r clients/python/requirements.txt"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from guildhall_client import Client, GuildhallError, connect
except ImportError as exc:  # websockets or msgpack missing
    print(f"missing Python package ({exc}); {INSTALL_HINT}", file=sys.stderr)
    sys.exit(2)

WAIT = 5.0  # seconds to wait for a reply or a push
QUIET = 1.0  # seconds of silence that show no extra push is coming


class CheckFailed(Exception):
    pass


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


def token_sub(token: str) -> str:
    """The `sub` claim of a JWT (not verified: only to know which user id to expect)."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["sub"]


def chat_pushes(client: Client, room: str, start: int = 0):
    return [p for p in client.raw_pushes[start:] if p.get("ev") == "chat.msg" and p.get("room") == room]


async def wait_for(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)


async def expect_error(coro, code: str):
    try:
        result = await coro
    except GuildhallError as err:
        expect(err.code == code, f"expected error {code!r}, got {err.code!r} ({err.msg})")
        return err
    raise CheckFailed(f"expected error {code!r}, got success {result!r}")


class Smoke:
    def __init__(self, args):
        self.args = args
        self.room = args.room
        self.passed = 0
        self.failed = 0
        self.a: Client = None
        self.b: Client = None
        self.a_id = self.b_id = None
        self.sent = {}  # state shared between checks

    def report(self, name: str, ok: bool, detail: str) -> None:
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    async def run(self) -> None:
        checks = [
            ("hello", self.check_hello),
            ("ping", self.check_ping),
            ("join", self.check_join),
            ("send", self.check_send),
            ("receive", self.check_receive),
            ("unknown_op", self.check_unknown_op),
            ("too_long", self.check_too_long),
            ("code_points", self.check_code_points),
            ("history", self.check_history),
            ("resume", self.check_resume),
            ("idem", self.check_idem),
            ("codec", self.check_codec),
        ]
        broken = None
        for name, check in checks:
            if broken is not None:
                self.report(name, False, f"not run: {broken} failed")
                continue
            try:
                detail = await asyncio.wait_for(check(), 60)
                self.report(name, True, detail or "ok")
            except CheckFailed as exc:
                self.report(name, False, str(exc))
                if name in ("hello", "join", "send", "resume"):
                    broken = name
            except Exception as exc:  # noqa: BLE001
                self.report(name, False, f"{type(exc).__name__}: {exc}")
                if name in ("hello", "join", "send", "resume"):
                    broken = name
        for client in (self.a, self.b):
            if client is not None:
                try:
                    await asyncio.wait_for(client.close(), 5)
                except Exception:  # noqa: BLE001
                    pass

    # --- checks ---

    async def check_hello(self):
        args = self.args
        self.a = await connect(args.url, args.codec, timeout=WAIT)
        self.b = await connect(args.url, args.codec, timeout=WAIT)
        ha = await self.a.hello(args.token_a)
        hb = await self.b.hello(args.token_b)
        for h in (ha, hb):
            for key in ("session", "user", "node", "heartbeat_ms", "resumed"):
                expect(key in h, f"hello result lacks {key!r}: {h}")
            expect(h["resumed"] == [], f"resumed should be empty without resume: {h['resumed']}")
            expect(isinstance(h["heartbeat_ms"], int) and h["heartbeat_ms"] > 0, f"bad heartbeat_ms {h}")
        self.a_id, self.b_id = ha["user"]["id"], hb["user"]["id"]
        expect(self.a_id == token_sub(args.token_a), f"A's user id {self.a_id!r} is not the token's sub")
        expect(self.b_id == token_sub(args.token_b), f"B's user id {self.b_id!r} is not the token's sub")
        expect(self.a_id != self.b_id, "both tokens name the same user")
        try:
            await self.a.hello(args.token_a)
            raise CheckFailed("a second hello succeeded")
        except GuildhallError as err:
            expect(err.code == "invalid", f"a second hello got {err.code!r}, expected 'invalid'")
        return f"A={self.a_id} ({ha['user']['name']}), B={self.b_id} ({hb['user']['name']}), node {ha['node']}"

    async def check_ping(self):
        t = await self.a.ping()
        expect(isinstance(t, int) and not isinstance(t, bool), f"t is not an integer: {t!r}")
        skew = t - int(time.time() * 1000)
        expect(abs(skew) <= 60_000, f"server time {t} is {skew} ms from local time")
        return f"t={t} (skew {skew} ms)"

    async def check_join(self):
        ja = await self.a.join(self.room)
        jb = await self.b.join(self.room)
        for who, j in (("A", ja), ("B", jb)):
            expect(isinstance(j.get("ep"), str) and j["ep"], f"{who}'s join reply lacks ep: {j}")
            expect(isinstance(j.get("off"), int), f"{who}'s join reply lacks off: {j}")
            expect("recovered" not in j, f"{who}'s join without since carries recovered: {j}")
            expect(isinstance(j.get("history"), list), f"{who}'s join of a chat room lacks history: {j}")
        expect(ja["ep"] == jb["ep"], f"A and B see different epochs: {ja['ep']} / {jb['ep']}")
        expect(self.b.positions.get(self.room) == (jb["ep"], jb["off"]), f"B tracks {self.b.positions}")
        self.sent["join_off"] = jb["off"]
        return f"ep={ja['ep']} off={ja['off']}/{jb['off']} history={len(ja['history'])}"

    async def check_send(self):
        text = f"hello from A {uuid.uuid4().hex[:8]}"
        off = await self.a.send(self.room, text)
        expect(isinstance(off, int), f"off is not an integer: {off!r}")
        expect(off > self.sent["join_off"], f"off {off} is not after the join's off {self.sent['join_off']}")
        self.sent["first"] = (text, off)
        own = await wait_for(lambda: [p for p in chat_pushes(self.a, self.room) if p.get("off") == off],
                             "A's own chat.msg push")
        self.sent["first_id"] = own[0]["d"]["id"]
        return f"off={off}"

    async def check_receive(self):
        text, off = self.sent["first"]
        push = await self.b.next_push("chat.msg", self.room, timeout=WAIT)
        d = push["d"]
        expect(d.get("text") == text, f"text {d.get('text')!r} != {text!r}")
        expect(d.get("from", {}).get("id") == self.a_id, f"from {d.get('from')} is not A ({self.a_id})")
        expect(push.get("off") == off, f"push off {push.get('off')} != sent off {off}")
        expect(push.get("ep") == self.b.positions[self.room][0], f"push ep {push.get('ep')} differs")
        expect(d.get("id") == self.sent["first_id"], f"message id {d.get('id')} != A's push {self.sent['first_id']}")
        expect(isinstance(d.get("ts"), int) and abs(d["ts"] - time.time() * 1000) < 60_000, f"bad ts {d.get('ts')}")
        expect(self.b.positions[self.room] == (push["ep"], off), f"B tracks {self.b.positions[self.room]}")
        return f"id={d['id']} off={off} from={d['from']}"

    async def check_unknown_op(self):
        before = self.a.replies_without_id
        err = await expect_error(self.a.request("chat.sned", {"room": self.room, "text": "x"}), "unknown_op")
        expect(self.a.replies_without_id == before and "id" in err.frame, f"the reply carried no id: {err.frame}")
        return f"msg={err.msg!r}"

    async def check_too_long(self):
        err = await expect_error(self.a.send(self.room, "x" * 201), "too_long")
        expect("id" in err.frame, f"the reply carried no id: {err.frame}")
        return f"201 characters refused: {err.msg!r}"

    async def check_code_points(self):
        # 200 code points, but 400 UTF-16 units and 800 UTF-8 bytes: within the limit (§9).
        text = "\U0001F600" * 199 + "!"
        off = await self.a.send(self.room, text)
        push = await wait_for(lambda: [p for p in chat_pushes(self.b, self.room) if p.get("off") == off],
                              "B's push of the 200-code-point message")
        expect(push[0]["d"]["text"] == text, "the 200-code-point text came back changed")
        await expect_error(self.a.send(self.room, "\u00e9" * 201), "too_long")
        return f"200 emoji-length code points accepted (off={off}), 201 'é' refused"

    async def check_history(self):
        text, off = self.sent["first"]
        msgs = await self.b.history(self.room)
        found = [m for m in msgs if m.get("id") == self.sent["first_id"]]
        expect(len(found) == 1, f"history lacks message {self.sent['first_id']}: {msgs}")
        expect(found[0].get("text") == text and found[0].get("from", {}).get("id") == self.a_id,
               f"history entry differs: {found[0]}")
        ids = [m["id"] for m in msgs]
        expect(ids == sorted(ids), f"history is not oldest first: {ids}")
        page = await self.b.history(self.room, before=self.sent["first_id"] + 1, limit=1)
        expect([m["id"] for m in page] == [self.sent["first_id"]], f"before/limit page: {page}")
        return f"{len(msgs)} message(s), sent one present"

    async def check_resume(self):
        room = self.room
        last_sent = max(p["off"] for p in chat_pushes(self.a, room))
        await wait_for(lambda: self.b.positions.get(room, (None, -1))[1] >= last_sent, "B to catch up")
        ep, b_off = self.b.positions[room]
        self.b.abort()
        await self.b.wait_closed()
        texts = [f"missed {i} {uuid.uuid4().hex[:6]}" for i in range(3)]
        offs = [await self.a.send(room, t) for t in texts]
        expect(offs == [b_off + 1, b_off + 2, b_off + 3], f"A's offs {offs} do not follow B's position {b_off}")
        start = len(self.b.raw_pushes)
        hello = await self.b.reconnect()
        want = [{"room": room, "recovered": True, "ep": ep, "off": offs[-1]}]
        expect(hello.get("resumed") == want, f"resumed: {hello.get('resumed')}, want {want}")
        got = await wait_for(lambda: len(chat_pushes(self.b, room, start)) >= 3 and chat_pushes(self.b, room, start),
                             "the 3 missed messages")
        await asyncio.sleep(QUIET)
        got = chat_pushes(self.b, room, start)
        expect(len(got) == 3, f"expected exactly 3 pushes, got {len(got)}: {[(p['off'], p['d']['text']) for p in got]}")
        expect([p["d"]["text"] for p in got] == texts, f"texts {[p['d']['text'] for p in got]} != {texts}")
        expect([p["off"] for p in got] == offs, f"offs {[p['off'] for p in got]} != {offs}")
        expect(all(p["ep"] == ep for p in got), "the epoch changed across the resume")
        expect(self.b.positions[room] == (ep, offs[-1]), f"B tracks {self.b.positions[room]}")
        expect(not self.b.reloads, f"B had to reload {self.b.reloads}")
        return f"recovered offs {offs}"

    async def check_idem(self):
        room = self.room
        key = f"smoke-{uuid.uuid4().hex}"
        text = f"once {uuid.uuid4().hex[:6]}"
        start = len(self.b.raw_pushes)
        first = await self.a.send(room, text, idem=key)
        retry = await self.a.send(room, text, idem=key)
        expect(retry == first, f"retry off {retry} != first off {first}")
        # A retry from another connection of the same user also replays (§10: "from any connection").
        a2 = await connect(self.args.url, self.args.codec, timeout=WAIT)
        try:
            await a2.hello(self.args.token_a)
            await a2.join(room)
            other = await a2.send(room, text, idem=key)
            expect(other == first, f"retry from a second connection: off {other} != {first}")
        finally:
            await a2.close()
        await wait_for(lambda: chat_pushes(self.b, room, start), "B's push of the idem message")
        await asyncio.sleep(QUIET)
        got = chat_pushes(self.b, room, start)
        expect(len(got) == 1, f"B received {len(got)} pushes: {[(p['off'], p['d']['text']) for p in got]}")
        expect(got[0]["off"] == first and got[0]["d"]["text"] == text, f"B's push differs: {got[0]}")
        return f"off={first} three times, delivered once"

    async def check_codec(self):
        for who, client in (("A", self.a), ("B", self.b)):
            other = set(client.received_codecs) - {self.args.codec}
            expect(not other, f"{who} received frames in {dict(client.received_codecs)}")
        return f"every frame received as {self.args.codec}"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-a", required=True)
    parser.add_argument("--token-b", required=True)
    parser.add_argument("--codec", choices=("json", "msgpack"), default="json")
    parser.add_argument("--room", required=True)
    args = parser.parse_args()
    smoke = Smoke(args)
    await smoke.run()
    print(f"{smoke.passed} passed, {smoke.failed} failed", flush=True)
    return 0 if smoke.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
