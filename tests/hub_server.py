#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub's resolve endpoints, for tests (standard library only).

Serves model directories as repositories:
  HEAD/GET /{org}/{name}/resolve/{revision}/{path}
    revision: "main" or the repository's commit (a sha1 of its contents); others -> 404 RevisionNotFound
    small files: 200, ETag "<git blob sha1>", Content-Length
    LFS files (*.safetensors, *.bin, *.gguf): 302 to http://localhost:<port>/cdn/<folder>/<sha256> (this
      server under another host name, like the real hub's CDN: clients do not follow it on HEAD and
      do not send Authorization there), ETag and X-Linked-Etag "<sha256>", X-Linked-Size
    an --alias old/name=org/name (a renamed repository): 307 to the relative /org/name/resolve/... URL
    every reply carries X-Repo-Commit; missing file -> 404 EntryNotFound; unknown repo -> 404
    RepoNotFound; a --gated repo without "Authorization: Bearer <--token>" -> 401 GatedRepo
  GET /cdn/<folder>/<sha256>: the blob, with Range support (206)
  GET /_stats: {"requests": N, "log": [{"method", "path", "range"}, ...]} (not counted itself)

Usage: hub_server.py --repo org/name=DIR [--gated org/name=DIR --token T] [--alias old/name=org/name] [--timeout S]
                     [--exit-on-stdin-eof]
Binds 127.0.0.1 on a free port and prints "PORT <n>" on stdout. Exits after --timeout seconds
(default 300), on SIGTERM, or when stdin closes with --exit-on-stdin-eof.
"""
import argparse
import hashlib
import http.server
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # local_server.py beside it
import local_server  # noqa: E402

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf")


class Repo:
    def __init__(self, repo_id, directory, gated):
        self.id = repo_id
        self.gated = gated
        self.folder = "models--" + repo_id.replace("/", "--")
        self.files = {}  # repo path -> (bytes, etag, is_lfs)
        for root, _, names in os.walk(directory):
            for n in sorted(names):
                full = os.path.join(root, n)
                rel = os.path.relpath(full, directory).replace(os.sep, "/")
                with open(full, "rb") as f:
                    data = f.read()
                lfs = rel.endswith(LFS_SUFFIXES)
                if lfs:
                    etag = hashlib.sha256(data).hexdigest()
                else:
                    etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                self.files[rel] = (data, etag, lfs)
        h = hashlib.sha1(repo_id.encode())
        for rel in sorted(self.files):
            h.update(rel.encode() + self.files[rel][1].encode())
        self.commit = h.hexdigest()
        self.blobs = {etag: data for data, etag, lfs in self.files.values() if lfs}


class State:
    repos = {}
    aliases = {}  # old org/name -> new org/name
    cdn_host = "localhost"  # another host name for this server, so that CDN redirects leave the "hub"
    token = ""
    lock = threading.Lock()
    log = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def reply(self, code, headers=None, body=b"", head=False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def error(self, code, error_code, message, head, extra=None):
        headers = {"X-Error-Code": error_code, "X-Error-Message": message, "Content-Type": "application/json"}
        headers.update(extra or {})
        self.reply(code, headers, json.dumps({"error": message}).encode(), head)

    def send_data(self, data, headers, head):
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start_s, _, end_s = rng[len("bytes="):].partition("-")
            start = int(start_s) if start_s else 0
            end = int(end_s) if end_s else len(data) - 1
            if start >= len(data):
                h = dict(headers)
                h["Content-Range"] = "bytes */%d" % len(data)
                self.reply(416, h, b"", head)
                return
            end = min(end, len(data) - 1)
            h = dict(headers)
            h["Content-Range"] = "bytes %d-%d/%d" % (start, end, len(data))
            self.reply(206, h, data[start:end + 1], head)
            return
        self.reply(200, headers, data, head)

    def handle_any(self, head):
        raw_path = self.path.split("?", 1)[0]
        if raw_path == "/_stats":
            with State.lock:
                body = json.dumps({"requests": len(State.log), "log": State.log}).encode()
            self.reply(200, {"Content-Type": "application/json"}, body, head)
            return
        with State.lock:
            State.log.append({"method": self.command, "path": raw_path, "range": self.headers.get("Range", "")})
        parts = raw_path.split("/")
        if len(parts) == 4 and parts[1] == "cdn":
            for repo in State.repos.values():
                if repo.folder == parts[2] and parts[3] in repo.blobs:
                    self.send_data(repo.blobs[parts[3]], {"ETag": '"%s"' % parts[3], "Accept-Ranges": "bytes",
                                                          "Content-Type": "application/octet-stream"}, head)
                    return
            self.error(404, "EntryNotFound", "no such blob", head)
            return
        # /{org}/{name}/resolve/{rev}/{path...}
        if len(parts) < 6 or parts[3] != "resolve":
            self.error(404, "RepoNotFound", "not a resolve URL", head)
            return
        repo_id = urllib.parse.unquote(parts[1]) + "/" + urllib.parse.unquote(parts[2])
        revision = urllib.parse.unquote(parts[4])
        path = "/".join(urllib.parse.unquote(p) for p in parts[5:])
        if repo_id in State.aliases:  # a renamed repository: relative redirect to the new name
            target = "/" + State.aliases[repo_id] + "/" + "/".join(parts[3:])
            self.reply(307, {"Location": target}, b"", head)
            return
        repo = State.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found", head)
            return
        if repo.gated and self.headers.get("Authorization", "") != "Bearer " + State.token:
            self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be "
                       "authenticated to access it." % repo_id, head)
            return
        if revision not in ("main", repo.commit):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
            return
        common = {"X-Repo-Commit": repo.commit}
        entry = repo.files.get(path)
        if entry is None:
            self.error(404, "EntryNotFound", "Entry not found", head, common)
            return
        data, etag, lfs = entry
        if lfs:
            headers = dict(common)
            headers.update({"ETag": '"%s"' % etag, "X-Linked-Etag": '"%s"' % etag, "X-Linked-Size": str(len(data)),
                            "Location": "http://%s:%d/cdn/%s/%s" % (State.cdn_host, self.server.server_address[1],
                                                                    repo.folder, etag)})
            self.reply(302, headers, b"", head)
            return
        headers = dict(common)
        headers.update({"ETag": '"%s"' % etag, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"})
        self.send_data(data, headers, head)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", action="append", default=[], help="org/name=DIR")
    ap.add_argument("--gated", action="append", default=[], help="org/name=DIR needing --token")
    ap.add_argument("--alias", action="append", default=[], help="old/name=org/name (a renamed repo)")
    ap.add_argument("--token", default="")
    ap.add_argument("--cdn-host", default="localhost", help="host name used in CDN redirects (not 127.0.0.1)")
    local_server.add_arguments(ap)
    args = ap.parse_args()
    for spec, gated in [(s, False) for s in args.repo] + [(s, True) for s in args.gated]:
        repo_id, _, directory = spec.partition("=")
        State.repos[repo_id] = Repo(repo_id, directory, gated)
    State.token = args.token
    State.cdn_host = args.cdn_host
    for spec in args.alias:
        old, _, new = spec.partition("=")
        State.aliases[old] = new

    local_server.serve(Handler, args)


if __name__ == "__main__":
    main()
