#!/usr/bin/env python3
"""Serves the browser page (web/) on this machine: python scripts/serve_web.py [--port 8000].

The page runs an exported .tflite upscaler in the visitor's browser (LiteRT.js); this
server only hands out static files. It sends the two headers that make the page
cross-origin isolated (Cross-Origin-Opener-Policy: same-origin,
Cross-Origin-Embedder-Policy: require-corp), without which browsers refuse the
shared memory that WebAssembly threads need. Run ``npm ci`` in web/ first (the page's
one dependency, @litertjs/core, pinned by web/package-lock.json). Any static host
that sends those headers serves the page as well.
"""

import argparse
import functools
import http.server
import os
import sys

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "web")


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the cross-origin isolation headers and the WebAssembly MIME type."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript",
                      ".mjs": "text/javascript"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args):  # quiet: one line per file is noise here
        pass


def serve(port=8000, host="127.0.0.1", folder=WEB):
    """A ``ThreadingHTTPServer`` for ``folder`` (not started); port 0 picks a free one."""
    handler = functools.partial(Handler, directory=os.path.abspath(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    args = parser.parse_args(argv)
    if not os.path.isdir(os.path.join(WEB, "node_modules", "@litertjs", "core")):
        print(f"serve_web: {os.path.normpath(WEB)}: run 'npm ci' there first", file=sys.stderr)
        return 2
    try:
        server = serve(args.port, args.host)
    except OSError as e:
        print(f"serve_web: {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
