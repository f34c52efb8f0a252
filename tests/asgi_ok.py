"""A bare ASGI app that answers 200 `ok`: for testing a server's own limits."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})
