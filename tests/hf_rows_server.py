#!/usr/bin/env python3
"""A local stand-in for the Hugging Face datasets-server rows API, for tests (standard library only).

Serves JSONL files as dataset splits:
  GET /rows?dataset=ID&config=C&split=S&offset=O&length=L
    200 {"features": [...], "rows": [{"row_idx": i, "row": {...}, "truncated_cells": []}, ...],
         "num_rows_total": N, "num_rows_per_page": 100, "partial": false}
    length > 100 or a missing/invalid parameter -> 422; unknown dataset -> 404 (the real server's
    message); unknown config or split -> 404 "Not found."; a --gated dataset without
    "Authorization: Bearer <--token>" -> 401
    with --max-page-bytes B: when a page's rows take more than B bytes of JSON, string cells longer
    than 64 characters are cut to 64 and listed in "truncated_cells" (as the real server does for
    large pages)
  GET /splits?dataset=ID
    200 {"splits": [{"dataset", "config", "split"}, ...], "pending": [], "failed": []}
  The first --fail-429 N requests to /rows or /splits are answered 429 (Retry-After: 0).
  GET /_stats: {"requests": N, "log": [{"path", "query", "auth"}, ...]} (not counted itself)
  GET /_set?fail_429=N&max_page_bytes=B: changes those settings at run time (not counted)

Usage: hf_rows_server.py --dataset ID:CONFIG:SPLIT=FILE.jsonl [--gated ID:CONFIG:SPLIT=FILE --token T]
                         [--fail-429 N] [--max-page-bytes B] [--timeout S] [--exit-on-stdin-eof]
Binds 127.0.0.1 on a free port and prints "PORT <n>" on stdout. Exits after --timeout seconds
(default 300), on SIGTERM, or when stdin closes with --exit-on-stdin-eof.
"""
import argparse
import http.server
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # local_server.py beside it
import local_server  # noqa: E402

NOT_FOUND = ("The dataset does not exist, or is not accessible without authentication (private or gated). "
             "Please check the spelling of the dataset name or retry with authentication.")
TRUNCATE_TO = 64


class State:
    datasets = {}  # id -> {"gated": bool, "splits": {(config, split): [rows]}}
    token = ""
    fail_429 = 0
    max_page_bytes = 0
    lock = threading.Lock()
    log = []


def load_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def features(rows):
    names = []
    for r in rows[:1]:
        names = list(r.keys())
    return [{"feature_idx": i, "name": n, "type": {"dtype": "string", "_type": "Value"}}
            for i, n in enumerate(names)]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def reply(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, code, error_code, message, extra=None):
        headers = {"X-Error-Code": error_code}
        headers.update(extra or {})
        self.reply(code, {"error": message}, headers)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/_stats":
            with State.lock:
                self.reply(200, {"requests": len(State.log), "log": State.log})
            return
        if path == "/_set":  # test control, not counted: /_set?fail_429=N&max_page_bytes=B
            params = urllib.parse.parse_qs(query)
            with State.lock:
                if "fail_429" in params:
                    State.fail_429 = int(params["fail_429"][0])
                if "max_page_bytes" in params:
                    State.max_page_bytes = int(params["max_page_bytes"][0])
                self.reply(200, {"fail_429": State.fail_429, "max_page_bytes": State.max_page_bytes})
            return
        auth = self.headers.get("Authorization", "")
        with State.lock:
            State.log.append({"path": path, "query": query, "auth": auth})
            throttle = State.fail_429 > 0 and path in ("/rows", "/splits")
            if throttle:
                State.fail_429 -= 1
        if throttle:
            self.error(429, "TooManyRequests", "Too many requests, please retry later", {"Retry-After": "0"})
            return
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        if path not in ("/rows", "/splits"):
            self.error(404, "NotFound", "Not found.")
            return
        ds_id = params.get("dataset", "")
        if not ds_id:
            self.error(422, "MissingRequiredParameter", "Parameter 'dataset' is required")
            return
        ds = State.datasets.get(ds_id)
        if ds is None:
            self.error(404, "DatasetNotFoundError", NOT_FOUND)
            return
        if ds["gated"] and auth != "Bearer " + State.token:
            self.error(401, "ExternalUnauthenticatedError", NOT_FOUND)
            return
        if path == "/splits":
            self.reply(200, {"splits": [{"dataset": ds_id, "config": c, "split": s} for (c, s) in ds["splits"]],
                             "pending": [], "failed": []})
            return
        config, split = params.get("config", ""), params.get("split", "")
        if not config or not split:
            self.error(422, "MissingRequiredParameter", "Parameters 'config' and 'split' are required")
            return
        try:
            offset = int(params.get("offset", "0"))
            length = int(params.get("length", "100"))
        except ValueError:
            self.error(422, "InvalidParameter", "Parameters 'offset' and 'length' must be integers")
            return
        if offset < 0 or length < 0 or length > 100:
            self.error(422, "InvalidParameter", "Parameter 'length' must be between 0 and 100")
            return
        rows = ds["splits"].get((config, split))
        if rows is None:
            self.error(404, "ResponseNotFound", "Not found.")
            return
        page = [{"row_idx": offset + i, "row": dict(r), "truncated_cells": []}
                for i, r in enumerate(rows[offset:offset + length])]
        if State.max_page_bytes and len(json.dumps([p["row"] for p in page])) > State.max_page_bytes:
            for p in page:
                for k, v in p["row"].items():
                    if isinstance(v, str) and len(v) > TRUNCATE_TO:
                        p["row"][k] = v[:TRUNCATE_TO]
                        p["truncated_cells"].append(k)
        self.reply(200, {"features": features(rows), "rows": page, "num_rows_total": len(rows),
                         "num_rows_per_page": 100, "partial": False})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", default=[], help="ID:CONFIG:SPLIT=FILE.jsonl")
    ap.add_argument("--gated", action="append", default=[], help="ID:CONFIG:SPLIT=FILE.jsonl needing --token")
    ap.add_argument("--token", default="")
    ap.add_argument("--fail-429", type=int, default=0, help="answer the first N API requests with 429")
    ap.add_argument("--max-page-bytes", type=int, default=0, help="truncate long cells of larger pages")
    local_server.add_arguments(ap)
    args = ap.parse_args()
    for spec, gated in [(s, False) for s in args.dataset] + [(s, True) for s in args.gated]:
        key, _, path = spec.partition("=")
        ds_id, config, split = key.split(":")
        ds = State.datasets.setdefault(ds_id, {"gated": gated, "splits": {}})
        ds["splits"][(config, split)] = load_rows(path)
    State.token = args.token
    State.fail_429 = args.fail_429
    State.max_page_bytes = args.max_page_bytes

    local_server.serve(Handler, args)


if __name__ == "__main__":
    main()
