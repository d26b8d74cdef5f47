"""A real `kvpress serve` process on 127.0.0.1 (a free port) for the serve tests, and small HTTP
helpers (standard library only). Tests run as `python3 tests/serve/<name>.py --kvpress BIN`."""
import argparse
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE


def arguments(description, extra=None):
    """Parses --kvpress BIN, --data DIR (../shared/data), --out DIR and what `extra(parser)` adds."""
    p = argparse.ArgumentParser(description=description)
    if extra:
        extra(p)
    p.add_argument("--kvpress", required=True)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    p.add_argument("--out", default="", help="write figures / screenshots here")
    return p.parse_args()


class Server:
    """`kvpress serve --port 0 ARGS...`; waits for the "listening on" line (30 s at most)."""

    def __init__(self, kvpress, *args):
        self.log = tempfile.NamedTemporaryFile(prefix="kvpress-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([kvpress, "serve", "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode() if ready else ""
        if "listening on http://" not in line:
            self.proc.kill()
            raise RuntimeError("kvpress serve did not start: %r\n%s" % (line, self.stderr()))
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stderr(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers dict (lower-case keys), body bytes)."""
        c = self.connection(timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def post(self, path, obj, timeout=60):
        """POST JSON; returns (status, parsed JSON body)."""
        status, _, data = self.request("POST", path, obj, timeout=timeout)
        return status, json.loads(data)

    def stream(self, path, obj, timeout=60):
        """POST with stream: true; returns (status, content-type, [event JSON...], saw_done)."""
        c = self.connection(timeout)
        c.request("POST", path, body=json.dumps(dict(obj, stream=True)), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        ctype = r.getheader("Content-Type", "")
        if r.status != 200:
            body = r.read()
            c.close()
            return r.status, ctype, [json.loads(body)], False
        events, done = [], False
        for raw in r:
            line = raw.decode().rstrip("\n")
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                continue
            events.append(json.loads(line[6:]))
        c.close()
        return r.status, ctype, events, done

    def metric(self, name):
        """The value of one Prometheus sample line (`name` includes labels) from /metrics."""
        _, _, data = self.request("GET", "/metrics")
        for line in data.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise KeyError(name)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends `sig` and returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


def streamed_text(events, chat=True):
    """The text of a stream's chunks, joined."""
    out = ""
    for e in events:
        for ch in e.get("choices", []):
            out += (ch.get("delta", {}).get("content") or "") if chat else ch.get("text", "")
    return out


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def run_tests(tests):
    """Runs (name, fn) pairs; prints each result; returns the process exit status."""
    failed = 0
    for name, fn in tests:
        t0 = time.time()
        try:
            fn()
            print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
    return 1 if failed else 0
