"""Joining a Ray cluster that requires an authentication token: the user's token, or one line saying how to pass it.

Clusters started with `ray start` require a token from Ray 2.59 on (all clusters from 2.61). A
Ray client (`ray://`) sends one only when `RAY_AUTH_MODE=token` is set where it runs; otherwise the
client server refuses every call and `ray.init` retries for 30 s before a bare "connection
timeout". So before joining a `ray://` address, goodfit asks the client server once, without a
token, what Ray's own client asks first (a ping); the server answers at once, `UNAUTHENTICATED`
when it needs a token. Then goodfit joins with the token the user has, found where Ray looks
(`RAY_AUTH_TOKEN`, the file `RAY_AUTH_TOKEN_PATH` names, `~/.ray/auth_token`), or stops in one line.
`auto` and GCS addresses are left to Ray, which uses a token it finds for `auto`.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from urllib.parse import urlsplit

from goodfit.errors import GoodfitError

CLIENT_PORT = 10001  # Ray's default --ray-client-server-port
PROBE_SECONDS = 5.0
TOKEN_HELP = ("run `ray get-auth-token` on the head node and pass the token here: export RAY_AUTH_TOKEN=TOKEN "
              "(or RAY_AUTH_TOKEN_PATH=FILE, or save it in ~/.ray/auth_token)")


def client_endpoint(address: str | None) -> str | None:
    """`host:port` of a Ray client address (`ray://host[:port]`); None for `auto`, GCS addresses and None.

    Example:
        >>> client_endpoint("ray://head:10001"), client_endpoint("ray://10.0.0.5"), client_endpoint("auto")
        ('head:10001', '10.0.0.5:10001', None)
    """
    if not address or not address.startswith("ray://"):
        return None
    parts = urlsplit(address)
    return f"{parts.hostname}:{parts.port or CLIENT_PORT}"


def ask(endpoint: str, token: str | None = None, timeout: float = PROBE_SECONDS) -> str:
    """Ping a Ray client server, with `token` or without: `ok`, `token` (refused: a token is needed or
    wrong), `down` (nothing answered within `timeout` seconds), or the gRPC status of another answer
    in lower case (`unimplemented`: something else listens there, a GCS port for instance)."""
    import grpc
    from ray.core.generated import ray_client_pb2, ray_client_pb2_grpc

    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(endpoint) as channel:
        try:
            ray_client_pb2_grpc.RayletDriverStub(channel).ClusterInfo(
                ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING),
                timeout=timeout, metadata=metadata)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNAUTHENTICATED:
                return "token"
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return "down"
            return err.code().name.lower()
    return "ok"


def user_token() -> str | None:
    """The token Ray would use here (`RAY_AUTH_TOKEN`, then `RAY_AUTH_TOKEN_PATH`, then `~/.ray/auth_token`), or None."""
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path and not os.environ.get("RAY_AUTH_TOKEN"):
        try:  # Ray aborts the process on an unreadable or empty token file; say so in one line instead
            if not open(path).read().strip():
                raise OSError("it is empty")
        except OSError as err:
            raise GoodfitError(f"RAY_AUTH_TOKEN_PATH names {path}, which cannot be read as a token "
                               f"({getattr(err, 'strerror', None) or err}); {TOKEN_HELP}") from None
    from ray._raylet import AuthenticationTokenLoader

    loader = AuthenticationTokenLoader.instance()
    loader.reset_cache()
    return loader.get_raw_token(ignore_auth_mode=True) if loader.has_token(ignore_auth_mode=True) else None


@contextmanager
def _token_mode():
    """`RAY_AUTH_MODE=token` in this process (Ray re-reads its config), restored afterwards."""
    from ray._raylet import AuthenticationTokenLoader, Config

    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"
    Config.initialize("")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RAY_AUTH_MODE")
        else:
            os.environ["RAY_AUTH_MODE"] = before
        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


@contextmanager
def authenticated(address: str | None):
    """Within it, `ray.init(address=...)` joins with the user's token when the cluster needs one.

    For a `ray://` address, asks the client server first: when it needs a token and the user has one,
    token mode is on for the block; when there is none, or the server refuses it, or nothing answers,
    raises a `GoodfitError` in one line at once. Other addresses pass through untouched.

    Args:
        address: the cluster's address, e.g. `ray://head:10001`, `auto`, or None.
    """
    endpoint = client_endpoint(address)
    if endpoint is None or os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        yield  # Ray's own rules; a TLS server cannot be asked over a plain channel
        return
    answer = ask(endpoint)
    if answer == "down":
        raise GoodfitError(f"no Ray client server answered at {address!r} within {PROBE_SECONDS:g} s; check that "
                           "the cluster is up and that the port is the head's --ray-client-server-port (default "
                           f"{CLIENT_PORT}), e.g. --address ray://HEAD:{CLIENT_PORT}")
    if answer not in ("ok", "token"):
        raise GoodfitError(f"{address!r} answered, but not as a Ray client server ({answer}); pass the head's "
                           f"--ray-client-server-port (default {CLIENT_PORT}), not its GCS port, e.g. "
                           f"--address ray://HEAD:{CLIENT_PORT}")
    if answer == "ok":
        yield
        return
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        raise GoodfitError(f"the Ray cluster at {address!r} requires an authentication token, and RAY_AUTH_MODE=disabled "
                           f"keeps Ray from sending one; unset RAY_AUTH_MODE and {TOKEN_HELP}")
    token = user_token()
    if token is None:
        raise GoodfitError(f"the Ray cluster at {address!r} requires an authentication token and none was found; "
                           + TOKEN_HELP)
    if ask(endpoint, token) != "ok":
        raise GoodfitError(f"the Ray cluster at {address!r} refused the authentication token found here; " + TOKEN_HELP)
    with _token_mode():
        yield
