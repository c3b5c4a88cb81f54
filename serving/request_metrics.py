"""Counts every HTTP answer by route template and status code (``rakuten_http_requests_total``),
the denominator of the 5xx-rate alert and the dashboards' error panels."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import metrics

UNMATCHED = "unmatched"


class RequestMetricsMiddleware:
    """Outermost middleware: sees the 413s of the body limit and the 500s of unhandled errors
    (Starlette's error handler answers those outside every user middleware, so an exception
    that reaches here is counted as the 500 it becomes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        code = 500

        async def capture(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # The router records the matched route in the scope; its template keeps the label
            # set small (no ids or arbitrary paths).
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            metrics.HTTP_REQUESTS.labels(template, str(code)).inc()
