#!/usr/bin/env python3
"""Checks guildhall_client's codecs against the golden examples of protocol/README.md (§16)."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guildhall_client import decode, encode  # noqa: E402

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol", "README.md")
BLOCK = re.compile(r"<!-- golden: (.+?) -->\s*```json\n(.*?)```\s*```msgpack\n(.*?)```", re.S)


def main() -> int:
    text = open(SPEC, encoding="utf-8").read()
    failures = 0
    examples = BLOCK.findall(text)
    for name, js, hexes in examples:
        js = js.strip()
        raw = bytes.fromhex("".join(hexes.split()))
        from_json, c1 = decode(js)
        from_mp, c2 = decode(raw)
        problems = []
        if (c1, c2) != ("json", "msgpack"):
            problems.append("codec detection")
        if from_json != from_mp:
            problems.append("JSON and MessagePack decode differently")
        if encode(from_json, "json") != json.dumps(json.loads(js), separators=(",", ":"), ensure_ascii=False):
            problems.append("JSON re-encoding differs")
        if encode(from_mp, "msgpack") != raw:
            problems.append("MessagePack re-encoding differs")
        print(f"{'FAIL' if problems else 'PASS'} {name}{': ' + ', '.join(problems) if problems else ''}")
        failures += bool(problems)
    print(f"{len(examples) - failures} passed, {failures} failed")
    return 1 if failures or not examples else 0


if __name__ == "__main__":
    sys.exit(main())
