"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests that need a crafted reply
(a figure its source does not state, a citation to nothing, a stall, garbage). Not a model:
the real model is tests/test_written_model.py's. `reply` is a function of the request body."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedLLM:
    def __init__(self):
        self.reply = lambda body: "No reply was scripted."
        self.mode = "stream"  # stream | json | malformed | slow | error | wrong-shape
        self.delay = 0.0
        self.chunk_delay = 0.0  # between streamed pieces: a reader sees the answer being written
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append({"path": self.path, "body": body,
                                        "authorization": self.headers.get("Authorization")})
                server._answer(self, body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def script(self, reply, mode="stream", delay=0.0, chunk_delay=0.0):
        self.reply = reply if callable(reply) else (lambda body, text=reply: text)
        self.mode, self.delay, self.chunk_delay = mode, delay, chunk_delay
        self.requests.clear()

    def _answer(self, handler, body):
        if self.delay:
            time.sleep(self.delay)
        text = self.reply(body)
        if self.mode == "error":
            return self._send(handler, 500, "application/json", b'{"error": "model not loaded"}')
        if self.mode == "malformed":
            return self._send(handler, 200, "application/json", b"{'choices': [not json")
        if self.mode == "wrong-shape":
            return self._send(handler, 200, "application/json", json.dumps({"answer": text}).encode())
        if self.mode == "json" or not body.get("stream"):
            completion = {"object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
            return self._send(handler, 200, "application/json", json.dumps(completion).encode())
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        pieces = [text[i:i + 12] for i in range(0, len(text), 12)]
        for piece in [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]:
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": piece}]}
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            handler.wfile.flush()
            if self.chunk_delay:
                time.sleep(self.chunk_delay)
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()

    @staticmethod
    def _send(handler, status, content_type, data: bytes):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self):
        self._http.shutdown()
        self._http.server_close()


def passages_of(body: dict) -> list[dict]:
    """The numbered passages qa handed to the model, read back from its request."""
    user = body["messages"][-1]["content"]
    return [json.loads(line) for line in user.splitlines() if line.startswith('{"n": ')]


def number_of(body: dict, words: str) -> int:
    """The number of the first handed-out passage that contains `words`."""
    for p in passages_of(body):
        if words in p["text"]:
            return p["n"]
    raise AssertionError(f"no passage handed out contains {words!r}")
