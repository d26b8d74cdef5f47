"""Start-up and shutdown shared by the local stand-in servers for tests (standard library only).

A server script adds the options with add_arguments(parser) and, once its state is set up, calls
serve(handler_class, args): it binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout (flushed)
and serves until it exits: after --timeout seconds (exit status 3), on SIGTERM, or when stdin closes
with --exit-on-stdin-eof (exit status 0). The scripts run as `python3 tests/<name>.py`, so this
module is found next to them on sys.path.
"""
import http.server
import os
import sys
import threading


def add_arguments(parser):
    """Adds --timeout S (default 300) and --exit-on-stdin-eof to an argparse parser."""
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")


def serve(handler, args):
    """Serves `handler` on 127.0.0.1:<free port> until an exit condition of `args`; never returns."""
    timer = threading.Timer(args.timeout, lambda: os._exit(3))
    timer.daemon = True
    timer.start()
    if args.exit_on_stdin_eof:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()
