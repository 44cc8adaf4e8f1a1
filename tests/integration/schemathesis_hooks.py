"""Schemathesis hooks for the hub campaign (loaded with SCHEMATHESIS_HOOKS): the batch-upload
and intake-bundle media types, and which credential each operation gets."""

import os

import schemathesis


@schemathesis.serializer("application/x-intake-blobs", "application/x-intake-bundle")
def _blobs(ctx, value):  # the generated body: bytes (format binary) or text
    if isinstance(value, bytes):
        return value
    if value is None:
        return b""
    return str(value).encode("utf-8", "surrogatepass")


@schemathesis.auth()
class HubAuth:
    """Stations' token on station routes, a department key on /v1/dept and /v1/receipts."""

    def get(self, case, ctx):
        return "static"  # the credentials are fixed for the run (see set)

    def set(self, case, data, ctx):
        path = case.operation.path
        key = (
            os.environ["HUB_DEPT_KEY"]
            if path.startswith(("/v1/dept", "/v1/receipts"))
            else os.environ["HUB_STATION_TOKEN"]
        )
        if _platform_route(case.method, path):  # the online platform's own credential
            key = os.environ["HUB_PLATFORM_TOKEN"]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}


def _platform_route(method, path):
    if not path.startswith("/v1/online/applications"):
        return False
    station = ("/claim", "/answer", "/files/")
    return not any(part in path for part in station) and (
        method.upper() == "GET" or path.endswith("applications")
    )
