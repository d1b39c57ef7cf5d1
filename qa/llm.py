"""A client for any OpenAI-compatible chat endpoint (Ollama, llama.cpp's server, vLLM, LM
Studio, an API): POST {url}/chat/completions, streamed as server-sent events so a reader sees
the answer as it is written and a stalled server is noticed within the deadline.

Settings (qa/settings.py): llm_url, llm_model, llm_api_key, llm_timeout, llm_max_tokens —
QA_LLM_URL etc., or the openai client's OPENAI_BASE_URL / OPENAI_API_KEY."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import GenerationError
from .settings import Settings

MAX_REPLY_CHARS = 20_000  # a written answer is a few sentences; more is a runaway model


@dataclass(frozen=True)
class Endpoint:
    url: str  # base URL, ending in /v1 for most servers
    model: str
    api_key: str | None = None
    timeout: float = 60.0  # for the whole reply, not per read
    max_tokens: int = 400

    @classmethod
    def from_settings(cls, settings: Settings) -> "Endpoint | None":
        if not settings.llm_configured:
            return None
        return cls(settings.llm_url.rstrip("/"), settings.llm_model, settings.llm_api_key,
                   float(settings.llm_timeout), settings.llm_max_tokens)


def chat(endpoint: Endpoint, messages: list[dict], on_text: Callable[[str], None] | None = None) -> str:
    """The model's reply to `messages`; `on_text` gets the reply so far as it grows."""
    reply = ""
    for delta in _stream(endpoint, messages):
        reply += delta
        if len(reply) > MAX_REPLY_CHARS:
            raise GenerationError(f"the model's reply ran past {MAX_REPLY_CHARS} characters")
        if on_text is not None and delta:
            on_text(reply)
    if not reply.strip():
        raise GenerationError("the model returned an empty reply")
    return reply


def _stream(endpoint: Endpoint, messages: list[dict]) -> Iterator[str]:
    import httpx

    deadline = time.monotonic() + endpoint.timeout
    headers = {"Accept": "text/event-stream"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    body = {"model": endpoint.model, "messages": messages, "stream": True, "temperature": 0,
            "max_tokens": endpoint.max_tokens}
    try:
        with httpx.Client(timeout=httpx.Timeout(endpoint.timeout), follow_redirects=False, trust_env=False) as client:
            with client.stream("POST", f"{endpoint.url}/chat/completions", json=body, headers=headers) as response:
                if response.status_code != 200:
                    detail = response.read().decode("utf-8", "replace")[:200].strip()
                    raise GenerationError(f"the model endpoint answered HTTP {response.status_code}"
                                          + (f": {detail}" if detail else ""))
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    # A server that ignores "stream": one JSON completion.
                    yield _content(_json(response.read()), "message")
                    return
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise GenerationError(f"the model did not finish within {endpoint.timeout:g} s")
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    yield _content(_json(data), "delta")
    except httpx.TimeoutException:
        raise GenerationError(f"the model did not answer within {endpoint.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise GenerationError(f"the model endpoint at {endpoint.url} failed: {exc}") from None


def _json(data) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise GenerationError("the model endpoint replied with something that is not JSON") from None
    if not isinstance(value, dict):
        raise GenerationError("the model endpoint replied with JSON that is not a chat completion")
    if "error" in value:
        raise GenerationError(f"the model endpoint reported an error: {str(value['error'])[:200]}")
    return value


def _content(value: dict, key: str) -> str:
    try:
        choice = value["choices"][0]
        content = choice.get(key, {}).get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        if value.get("choices") == [] and key == "delta":
            return ""  # a usage-only chunk some servers send last
        raise GenerationError("the model endpoint replied with JSON that is not a chat completion") from None
    if content is None:
        return ""  # a role-only or finishing chunk
    if not isinstance(content, str):
        raise GenerationError("the model endpoint replied with content that is not text")
    return content
