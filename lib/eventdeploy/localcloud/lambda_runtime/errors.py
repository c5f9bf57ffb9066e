"""Lambda API errors that moto does not define, rendered the way boto3 parses them."""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda.exceptions import LambdaClientError


class TooManyRequestsException(LambdaClientError):
    """HTTP 429 with Lambda's ``Reason`` (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors)."""

    code = 429

    def __init__(self, reason: str, retry_after_s: int = 1) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.retry_after_s = retry_after_s
        self.description = json.dumps({"__type": "TooManyRequestsException", "message": "Rate Exceeded.",
                                       "Reason": reason, "Type": "User"})

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        """Error headers plus ``Retry-After`` (boto3's ``retryAfterSeconds``)."""
        return [*super().get_headers(*args, **kwargs), ("Retry-After", str(self.retry_after_s))]


class InvalidRequestContentException(LambdaClientError):
    """The invocation payload is not JSON."""

    def __init__(self, detail: str) -> None:
        super().__init__("InvalidRequestContentException", f"Could not parse request body into json: {detail}")


class RequestTooLargeException(LambdaClientError):
    """HTTP 413: the payload is over Lambda's limit for the invocation type."""

    code = 413

    def __init__(self, limit: int) -> None:
        super().__init__("RequestTooLargeException",
                         f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
