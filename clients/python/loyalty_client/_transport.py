"""The HTTP side of the Python client: one httpx client, bearer credentials, problem documents
raised as `LoyaltyError`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["LoyaltyError", "Transport"]


def _quote(value: str) -> str:
    return quote(value, safe="")


class LoyaltyError(Exception):
    """A refused request: the HTTP status and the problem document (RFC 9457) that says why,
    with the field it names, when it names one."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        errors = problem.get("errors") or []
        self.status = status
        self.problem = problem
        self.code: str | None = problem.get("code")
        self.field: str | None = errors[0].get("field") if errors else None
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


class Transport:
    """Sends requests to the service at `base_url` with `token` (an API key or a member
    token) as the bearer credential."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = client or httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any],
        headers: dict[str, Any],
        body: Any,
        reads: str,
    ) -> Any:
        params = {k: _param(v) for k, v in query.items() if v is not None}
        sent = {k: str(v) for k, v in headers.items() if v is not None}
        response = self._http.request(
            method, path, params=params, headers=sent, json=body if body is not None else None
        )
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:500]}
            raise LoyaltyError(response.status_code, problem)
        if reads == "json":
            return response.json()
        if reads == "text":
            return response.text
        return None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
