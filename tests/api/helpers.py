"""API test helpers: bearer tokens obtained through ``POST /api/v1/auth/token``, JSON
requests as a given user, and assertions on the error body of SPEC 7.1."""

from __future__ import annotations

from tests.factories import PASSWORD

PREFIX = "/api/v1"


class ApiClient:
    """``api.post("/calls", as_=user, json={...})``: the path is relative to /api/v1 and
    the bearer token of ``as_`` is fetched once through the login endpoint."""

    def __init__(self, client) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post(f"{PREFIX}/auth/token",
                                json={"email": email, "password": password})

    def token(self, user_or_email, password: str = PASSWORD) -> str:
        email = getattr(user_or_email, "email", user_or_email)
        if email not in self._tokens:
            response = self.login(email, password)
            assert response.status_code == 200, response.get_json()
            self._tokens[email] = response.get_json()["token"]
        return self._tokens[email]

    def request(self, method: str, path: str, *, as_=None, token: str | None = None,
                json=None, headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if as_ is not None:
            token = self.token(as_)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("/api/") or path == "/health" else PREFIX + path
        return self.client.open(url, method=method, json=json, headers=headers, **kwargs)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw):
        return self.request("PATCH", path, **kw)

    def fire(self, application_id: int, trigger: str, as_, data: dict | None = None):
        return self.post(f"/applications/{application_id}/transitions/{trigger}", as_=as_,
                         json=data if data is not None else {})


def ok(response, status: int = 200) -> dict:
    """The JSON body of a response that must have the given status."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    return response.get_json()


def assert_error(response, status: int, code: str | None = None,
                 fields: list[str] | tuple[str, ...] | None = None) -> dict:
    """The response is the SPEC 7.1 error body; ``fields`` must all carry messages."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"}, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if code is not None:
        assert error["code"] == code, error
    for name in fields or ():
        messages = error.get("fields", {}).get(name)
        assert messages and all(isinstance(m, str) and m for m in messages), (name, error)
    return error
