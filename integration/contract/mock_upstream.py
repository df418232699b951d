"""A minimal OpenAI-compatible upstream for the contract test (run as a script).

Answers POST /v1/chat/completions (JSON or SSE when ``stream`` is true) only with the expected
bearer key, so a request that arrives proves LiteLLM resolved the model's ``os.environ/`` key.
A last user message ``sleep:<seconds>`` delays the answer (the graceful-shutdown test).
GET /_requests lists what arrived, for the test's assertions.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED: list[dict] = []
LOCK = threading.Lock()


def completion(model: str, content: str) -> dict:
    return {
        "id": "chatcmpl-contract",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-contract",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    api_key = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == "/_requests":
            with LOCK:
                self._json(200, list(RECEIVED))
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if self.headers.get("Authorization") != f"Bearer {self.api_key}":
            self._json(401, {"error": {"message": "wrong upstream key", "type": "auth"}})
            return
        messages = body.get("messages") or [{}]
        text = str(messages[-1].get("content", ""))
        model = body.get("model", "mock")
        stream = bool(body.get("stream"))
        with LOCK:
            RECEIVED.append({"model": model, "stream": stream, "content": text,
                             "started": time.time()})
        if text.startswith("sleep:"):
            time.sleep(float(text.split(":", 1)[1]))
        answer = f"mock answer to: {text}"
        if not stream:
            self._json(200, completion(model, answer))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(chunk(model, {"role": "assistant", "content": ""}))
        for word in answer.split(" "):
            self.wfile.write(chunk(model, {"content": word + " "}))
            self.wfile.flush()
        self.wfile.write(chunk(model, {}, finish="stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    Handler.api_key = args.api_key
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
