"""A small TerraAPI client: the envelope, and retries with backoff on 429 and 5xx
(honouring Retry-After). What a Python integration of TerraAPI looks like; the tests next
to it run one against terra-mock. The gateway signature (Kong hmac-auth, `date
@request-target digest`) is terra_mock.sign here; an integration has its own."""
import json
import time
import urllib.error
import urllib.request

from terra_mock import sign

PREFIX = "/terra-rescon-be/v2"


class ApiError(Exception):
    """A non-zero `result.code`, or a gateway error."""

    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status}, code {code}: {message}")
        self.status, self.code, self.message = status, code, message


class Terra:
    def __init__(self, base, app_key, secret, retries=3, backoff=0.05):
        self.base, self.app_key, self.secret = base.rstrip("/"), app_key, secret
        self.retries, self.backoff = retries, backoff
        self.responses = []  # (method, route template, HTTP status, parsed body) of each call

    def _headers(self, method, target, data):
        headers = sign(method, target, data, app_key=self.app_key, secret=self.secret)
        headers["Content-Type"] = "application/json;charset=UTF-8"
        return headers

    def call(self, method, path, body=None, route=None, detail=False):
        """Calls `method path`; returns `data`. `route` names the route template (for the
        recorded responses, e.g. `/jobs/{uuid}`)."""
        target = PREFIX + path
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(self.retries + 1):
            headers = self._headers(method, target, data)
            if detail:
                headers["Return-Detail"] = "true"
            req = urllib.request.Request(self.base + target, data=data if body is not None else None,
                                         method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, raw = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
                if (status == 429 or status >= 500) and attempt < self.retries:
                    wait = float(e.headers.get("Retry-After") or self.backoff * 2 ** attempt)
                    time.sleep(min(wait, 2.0))
                    continue
            parsed = json.loads(raw) if raw else None
            self.responses.append((method, PREFIX + (route or path), status, parsed))
            if status != 200:
                raise ApiError(status, None, (parsed or {}).get("message", raw[:200]))
            if parsed["result"]["code"] != 0:
                raise ApiError(status, parsed["result"]["code"], parsed["result"]["msg"])
            return parsed.get("data")
        raise AssertionError("unreachable")
