"""The password of `qa serve --auth` on the MCP routes too. Gradio's login guards the page and
its API, not /gradio_api/mcp/ (measured with gradio 6.31: anyone could list the tools there). An
agent sends the same user:password as HTTP Basic auth; anything else gets 401 before Gradio sees
the request. Pure ASGI, so the MCP server's streamed responses pass through untouched."""
from __future__ import annotations

import base64
import hmac

from starlette.middleware import Middleware

MCP_PREFIX = "/gradio_api/mcp"


class MCPPassword:
    def __init__(self, app, credentials: tuple[str, str]):
        self.app = app
        user, password = credentials
        self._expected = ("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(MCP_PREFIX):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"www-authenticate", b'Basic realm="qa MCP"'),
                                        (b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body",
                            "body": b"the MCP tools need the app's user:password as HTTP Basic auth\n"})
                return
        await self.app(scope, receive, send)


def guarded(credentials: tuple[str, str] | None) -> dict:
    """`app_kwargs` for Blocks.launch: the MCP routes behind `credentials` (none: unchanged)."""
    return {"middleware": [Middleware(MCPPassword, credentials=credentials)]} if credentials else {}
