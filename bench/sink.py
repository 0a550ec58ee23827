#!/usr/bin/env python3
"""bench/sink.py - a loopback OTLP/HTTP sink for benchmarks: answers every POST
200 with an empty body (a valid empty Export*ServiceResponse), counts requests
and bytes, prints its port on stdout. Not a decoder: the tests use the official
OpenTelemetry definitions for that."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = 0
    body_bytes = 0

    def do_POST(self):
        n = int(self.headers.get("content-length", 0))
        self.rfile.read(n)
        Handler.requests += 1
        Handler.body_bytes += n
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
finally:
    sys.stderr.write(f"sink: requests={Handler.requests} body_bytes={Handler.body_bytes}\n")
