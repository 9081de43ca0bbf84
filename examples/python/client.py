#!/usr/bin/env python3
"""A small client of the mkhv serve protocol (spec/oracle.md, section 3), in plain Python.

It shows that the protocol is language-neutral: JSON requests, one per line, on the
server's standard input; one JSON response per request, one per line, on its standard
output. Nothing here is specific to mkhv's implementation language.

Usage (from anywhere):
    python3 examples/python/client.py [scenario.json] [steps]

It starts `node bin/mkhv.js serve`, says hello, loads the scenario (by default
examples/scenarios/two-counters.json), steps `exec` on CPU 0 `steps` times (default 10),
printing one line per record — index, trap kind, number of changed registers, fingerprint —
and finally asks for the view of the first domain and prints its keys.
"""

import json
import subprocess
import sys
from pathlib import Path

# This file is examples/python/client.py, so the repository root is two levels up.
REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_SCENARIO = REPO / "examples" / "scenarios" / "two-counters.json"


class ProtocolError(Exception):
    """The server answered with {"ok": false, ...} or not at all."""


class MkhvServer:
    """One `mkhv serve` process; `request` sends a request and returns its response."""

    def __init__(self):
        self.process = subprocess.Popen(
            ["node", str(REPO / "bin" / "mkhv.js"), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,  # line-buffered: each request goes out when its line ends
        )
        self.next_id = 1

    def request(self, request_type, **fields):
        message = {"type": request_type, "id": self.next_id, **fields}
        self.next_id += 1
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if line == "":
            raise ProtocolError("the server exited without answering")
        response = json.loads(line)
        if not response["ok"]:
            error = response["error"]
            raise ProtocolError(f"{request_type}: {error['code']}: {error['message']}")
        return response

    def close(self):
        # The session ends with the input (ORC-SRV-1).
        self.process.stdin.close()
        self.process.wait(timeout=10)


def main(argv):
    scenario_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SCENARIO
    steps = int(argv[2]) if len(argv) > 2 else 10
    scenario = json.loads(scenario_path.read_text())

    server = MkhvServer()
    try:
        hello = server.request("hello")
        print(f"server: {hello['producer']}, records {hello['format']} {hello['version']}")

        loaded = server.request("load", scenario=scenario)
        header = loaded["header"]
        print(f"loaded {scenario.get('name', scenario_path.name)}: {header['supervisor']}, "
              f"domains {', '.join(loaded['domains'])}, boot fingerprint {loaded['fingerprint']}")

        for _ in range(steps):
            record = server.request("step", event={"kind": "exec", "cpu": 0})["record"]
            trap = record["trap"]["kind"] if record["trap"] is not None else "-"
            print(f"#{record['index']:<3} trap {trap:<9} {len(record['registers'])} registers changed  "
                  f"{record['fingerprint']}")

        first = loaded["domains"][0]
        view = server.request("view", domain=first)["view"]
        print(f"view of {first}: {', '.join(view.keys())}")
    finally:
        server.close()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (ProtocolError, OSError, ValueError) as error:
        print(f"client.py: {error}", file=sys.stderr)
        sys.exit(1)
