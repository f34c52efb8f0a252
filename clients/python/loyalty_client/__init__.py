"""A typed Python client for the loyalty service, for shop back ends.

    from loyalty_client import LoyaltyClient

    with LoyaltyClient("https://loyalty.example", api_key) as loyalty:
        answer = loyalty.post_event(body={...})
        print(answer["points"], answer["balances"]["available"])

Every operation of `openapi/openapi.json` is a method named by its operation id in snake case
(`postEvent` -> `post_event`); refusals raise `LoyaltyError` with the status, the problem
document and the field it names.
"""

from __future__ import annotations

from loyalty_client._generated import GeneratedClient
from loyalty_client._transport import LoyaltyError

__all__ = ["LoyaltyClient", "LoyaltyError"]


class LoyaltyClient(GeneratedClient):
    """The service at `base_url`, called with `token` (an API key or a member token)."""
