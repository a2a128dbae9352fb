"""A small client of the platform's public API, for the admin commands: they go through the
gateway like any partner's system, never straight into tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx


class ApiError(Exception):
    """A problem+json answer, rendered for a person."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:500]}
        self.status = response.status_code
        self.code = problem.get("code", "error")
        self.errors = problem.get("errors") or []
        super().__init__(f"{response.status_code} {self.code}: {problem.get('detail', '')}")


class PlatformClient:
    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 120.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def download(self, path: str, **params: Any) -> bytes:
        """The body of a non-JSON answer (a document)."""
        response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        if response.status_code >= 400:
            raise ApiError(response)
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paginated list."""
        cursor: str | None = None
        while True:
            page = self.get(path, **params, cursor=cursor, limit=500)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def upload(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        content_type: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST a streamed body (the caller's generator can report progress as it is read)."""
        return self.request(
            "POST",
            path,
            content=chunks,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers={"content-type": content_type} | (headers or {}),
        )

    def download_to(self, path: str, out: Path, params: dict[str, Any]) -> int:
        """GET a streamed body into ``out`` (never whole in memory); its size."""
        query = {k: v for k, v in params.items() if v is not None}
        with self.http.stream("GET", path, params=query) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(response)
            with out.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        return out.stat().st_size
