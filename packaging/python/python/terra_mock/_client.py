"""The server process and its control API (standard library only)."""
from __future__ import annotations

import atexit
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from email.utils import formatdate
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

__all__ = ["ApiError", "ControlError", "TerraMock", "find_binary", "sign"]

DEFAULT_APP_KEY = "terra-mock-ak"
DEFAULT_SECRET = "terra-mock-sk"
API_PREFIX = "/terra-rescon-be/v2"
CONTROL_PREFIX = "/_terra-mock/v1"


class ControlError(Exception):
    """A refusal of the control API: its ``kind`` (``not_found``, ``conflict``,
    ``invalid``, ...), its message and the HTTP status."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(f"{kind}: {message} (HTTP {status})")
        self.kind = kind
        self.message = message
        self.status = status


class ApiError(RuntimeError):
    """A TerraAPI call that did not succeed: the HTTP ``status``, the envelope's
    ``result.code`` and ``result.msg`` (``None`` when the answer was not an envelope, as
    for an injected 503) and the body as received."""

    def __init__(self, method: str, path: str, status: int, code: Optional[int],
                 message: str, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}, code {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


def find_binary(explicit: Optional[Union[str, Path]] = None) -> Path:
    """The ``terra-mock`` binary: ``explicit``, else ``$TERRA_MOCK_BIN``, else the one this
    package installed beside the interpreter, else one on ``PATH``."""
    for candidate in (explicit, os.environ.get("TERRA_MOCK_BIN")):
        if candidate:
            p = Path(candidate)
            if not p.is_file():
                raise FileNotFoundError(f"no terra-mock binary at {p}")
            return p
    exe = "terra-mock.exe" if sys.platform == "win32" else "terra-mock"
    scripts = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    user = sysconfig.get_path("scripts", f"{os.name}_user") if os.name != "nt" else None
    for folder in [*scripts, user]:
        if folder and (Path(folder) / exe).is_file():
            return Path(folder) / exe
    found = shutil.which(exe)
    if found:
        return Path(found)
    raise FileNotFoundError(
        "the terra-mock binary is not installed: pip install terra-mock, or set TERRA_MOCK_BIN"
    )


def sign(method: str, target: str, body: Union[bytes, str] = b"", *, app_key: str, secret: str,
         date: Optional[str] = None) -> Dict[str, str]:
    """The gateway headers of a TerraAPI request (``Date``, ``Digest``, ``Authorization``):
    ``target`` is the path with ``/terra-rescon-be`` and the query, exactly as sent."""
    data = body.encode() if isinstance(body, str) else body
    date = date or formatdate(usegmt=True)
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    signing = f"date: {date}\n@request-target: {method.lower()} {target}\ndigest: {digest}"
    signature = base64.b64encode(
        hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()).decode()
    return {
        "Date": date,
        "Digest": digest,
        "Authorization": f'hmac username="{app_key}", algorithm="hmac-sha256", '
                         f'headers="date @request-target digest", signature="{signature}"',
    }


def _preexec() -> None:  # pragma: no cover - runs in the child
    # On Linux the server gets SIGTERM when the process that started it dies, however it
    # dies (even SIGKILL), so that no emulator outlives its test run.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class TerraMock:
    """A terra-mock server in its own process, on a free loopback port, with a private
    state folder (removed on stop). A context manager; also usable with ``start()`` and
    ``stop()``. Stopped at interpreter exit if still running.

    ``args`` are more ``terra-mock serve`` flags (``["--provider", "oss"]``); ``env`` more
    environment for the server.
    """

    def __init__(self, binary: Optional[Union[str, Path]] = None, *, args: Sequence[str] = (),
                 env: Optional[Mapping[str, str]] = None, app_key: str = DEFAULT_APP_KEY,
                 secret: str = DEFAULT_SECRET, startup_timeout: float = 30.0) -> None:
        self.binary = find_binary(binary)
        self.app_key = app_key
        self.secret = secret
        self._args = list(args)
        self._env = dict(env or {})
        self._timeout = startup_timeout
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._dir: Optional[tempfile.TemporaryDirectory[str]] = None
        self.base_url = ""
        self.log_path: Optional[Path] = None

    # ---- the process -----------------------------------------------------------------

    def start(self) -> "TerraMock":
        """Starts the server and waits until it answers; returns ``self``."""
        if self._proc is not None:
            return self
        self._dir = tempfile.TemporaryDirectory(prefix="terra-mock-py-")
        state = Path(self._dir.name) / "state"
        self.log_path = Path(self._dir.name) / "terra-mock.log"
        cmd = [str(self.binary), "serve", "--addr", "127.0.0.1:0", "--data-dir", str(state),
               "--app-key", self.app_key, "--secret", self.secret, *self._args]
        env = {k: v for k, v in os.environ.items() if k not in ("DJI_APP_KEY", "DJI_SECRET_KEY")}
        env.update(self._env)
        log = open(self.log_path, "wb")
        try:
            self._proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=log, env=env,
                preexec_fn=_preexec if sys.platform.startswith("linux") else None)
        finally:
            log.close()
        _running.add(self)
        self.base_url = self._read_banner()
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                self.health()
                return self
            except (OSError, ControlError):
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"terra-mock did not start: {self.log_tail()}")
                time.sleep(0.05)

    def _read_banner(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        found: List[str] = []
        done = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for raw in self._proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith("terra-mock listening on "):
                    found.append(line.rsplit(" ", 1)[1])
                    done.set()
            done.set()

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(self._timeout) or not found:
            self.stop()
            raise RuntimeError(f"terra-mock did not start: {self.log_tail()}")
        return found[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server (SIGTERM, then SIGKILL after ``timeout`` seconds) and removes its
        state folder."""
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            self._keep_log()
            self._dir.cleanup()
            self._dir = None

    def _keep_log(self) -> None:
        # The log outlives the state folder, for a report after the server stopped.
        if self.log_path and self.log_path.exists():
            keep = Path(tempfile.gettempdir()) / f"terra-mock-{os.getpid()}-{id(self)}.log"
            shutil.copyfile(self.log_path, keep)
            self.log_path = keep

    def __enter__(self) -> "TerraMock":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def storage_endpoint(self) -> str:
        """Where S3 and OSS clients are pointed (the same port as the API)."""
        return self.base_url

    @property
    def control_url(self) -> str:
        return self.base_url + CONTROL_PREFIX

    def log_tail(self, max_bytes: int = 64 * 1024, since: int = 0) -> str:
        """The end of the server's log (from byte ``since``)."""
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(since, end - max_bytes))
            return f.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0

    def as_account(self, app_key: str, secret: str) -> "TerraMock":
        """The same server, its API called with another account's keys (``sign``, ``api``);
        stopping it stops nothing."""
        view = object.__new__(TerraMock)
        view.__dict__.update(self.__dict__)
        view.app_key, view.secret = app_key, secret
        view._proc, view._dir = None, None
        return view

    # ---- signing -------------------------------------------------------------------

    def sign(self, method: str, target: str, body: Union[bytes, str] = b"") -> Dict[str, str]:
        """The gateway headers for a TerraAPI call to this server with its account's keys;
        ``target`` starts with ``/terra-rescon-be``."""
        return sign(method, target, body, app_key=self.app_key, secret=self.secret)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A signed TerraAPI call (``path`` after ``/terra-rescon-be/v2``); returns the
        envelope's ``data``, raising ``ApiError`` on a non-zero ``result.code`` or an answer
        that is not an envelope."""
        target = API_PREFIX + path
        data = b"" if body is None else json.dumps(body).encode()
        headers = self.sign(method, target, data)
        headers["Content-Type"] = "application/json;charset=UTF-8"
        req = urllib.request.Request(self.base_url + target, data=data if body is not None else None,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode(errors="replace")
        try:
            env = json.loads(raw)
        except ValueError:
            env = None
        result = env.get("result") if isinstance(env, dict) else None
        if not isinstance(result, dict) or result.get("code") != 0:
            code = result.get("code") if isinstance(result, dict) else None
            message = result.get("msg", "") if isinstance(result, dict) else text[:200]
            raise ApiError(method, path, status, code, str(message), text)
        return env.get("data")

    # ---- the control API -------------------------------------------------------------

    def _control(self, method: str, path: str, body: Any = None,
                 query: Optional[Mapping[str, Any]] = None, raw: bool = False) -> Any:
        url = self.control_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if method == "GET" else json.dumps({} if body is None else body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)["error"]
                raise ControlError(err["kind"], err["message"], e.code) from None
            except (ValueError, KeyError):
                raise ControlError("http", raw.decode(errors="replace"), e.code) from None
        if raw:
            return text.decode(errors="replace")
        return json.loads(text) if text else None

    def health(self) -> Dict[str, Any]:
        return self._control("GET", "/health")

    def stats(self) -> Dict[str, Any]:
        """Accounts with their counts, objects, uploads and sessions."""
        return self._control("GET", "/stats")

    def advance(self, seconds: float) -> Dict[str, Any]:
        """Moves the emulator's time forward; jobs move on accordingly."""
        return self._control("POST", "/clock/advance", {"seconds": seconds})

    def set_clock(self, now: Optional[str] = None, *, now_ms: Optional[int] = None,
                  mode: Optional[str] = None) -> Dict[str, Any]:
        """Sets the clock (``now`` in RFC 3339, or ``now_ms``) and/or its ``mode``
        (``"system"`` or ``"manual"``)."""
        body = {k: v for k, v in {"now": now, "now_ms": now_ms, "mode": mode}.items() if v is not None}
        return self._control("PUT", "/clock", body)

    def fail_job(self, uuid: str, message: str = "Reconstruction failed",
                 code: Optional[str] = None) -> Dict[str, Any]:
        """Fails a started job now with ``message``."""
        body: Dict[str, Any] = {"message": message}
        if code is not None:
            body["code"] = code
        return self._control("POST", f"/jobs/{uuid}/fail", body)

    def fail_next(self, count: int = 1, message: str = "Reconstruction failed",
                  at: Optional[str] = None) -> Dict[str, Any]:
        """Makes the next ``count`` started jobs fail (at the end of stage ``at``)."""
        body: Dict[str, Any] = {"count": count, "message": message}
        if at is not None:
            body["at"] = at
        return self._control("POST", "/jobs/fail-next", body)

    def add_fault(self, fault: Mapping[str, Any], *, method: Optional[str] = None,
                  path: Optional[str] = None, times: Optional[int] = None,
                  scope: Optional[str] = None) -> int:
        """Injects a fault (``{"type": "status", "status": 503}``, ``{"type": "delay",
        "ms": 500}``, ``{"type": "reset"}``, ...) on matching requests; returns its id."""
        body: Dict[str, Any] = {"fault": dict(fault)}
        for k, v in (("method", method), ("path", path), ("times", times), ("scope", scope)):
            if v is not None:
                body[k] = v
        return int(self._control("POST", "/faults", body)["id"])

    def faults(self) -> List[Dict[str, Any]]:
        return self._control("GET", "/faults")

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def requests(self, **filters: Any) -> List[Dict[str, Any]]:
        """The request log, newest first (``limit``, ``method``, ``path``, ``status``,
        ``app_key``, ``api_code``, ``refused``, ``code``, ``full``). A refused request
        has ``refusal`` (``code``, ``message``, and ``signed`` for a signature mismatch);
        one let through leniently has ``warnings``."""
        for flag in ("full", "refused"):
            if flag in filters:
                filters[flag] = "true" if filters[flag] else "false"
        return self._control("GET", "/requests", query=filters)

    def report(self, text: bool = False) -> Any:
        """Refusals and warnings by code and by client, with the first example of each:
        a dict, or with ``text=True`` the text ``terra-mock report`` prints."""
        if text:
            return self._control("GET", "/report", query={"format": "text"}, raw=True)
        return self._control("GET", "/report")

    def clear_requests(self) -> None:
        self._control("DELETE", "/requests")

    def reset(self, app_key: Optional[str] = None) -> None:
        """Empties every account (or one) and the object store; faults and the log too."""
        self._control("POST", "/reset", query={"app_key": app_key} if app_key else None)

    def export_state(self) -> Dict[str, Any]:
        """The whole state as one JSON document (objects inline)."""
        return self._control("GET", "/state")

    def import_state(self, doc: Mapping[str, Any]) -> None:
        """Replaces the whole state with a document of ``export_state`` (all or nothing)."""
        self._control("PUT", "/state", dict(doc))

    def create_account(self, app_key: str, secret: str, provider: str = "s3",
                       **settings: Any) -> Dict[str, Any]:
        """Adds an account (``provider`` ``"s3"`` or ``"oss"``)."""
        return self._control("POST", "/accounts",
                             {"app_key": app_key, "secret": secret, "provider": provider, **settings})

    def account(self, app_key: str) -> Dict[str, Any]:
        """An account's settings and counts."""
        return self._control("GET", f"/accounts/{urllib.parse.quote(app_key, safe='')}")

    def delete_account(self, app_key: str) -> None:
        """Removes an account and everything it holds."""
        self._control("DELETE", f"/accounts/{urllib.parse.quote(app_key, safe='')}")

    def set_timing(self, **stages: float) -> Dict[str, Any]:
        """The stage durations (seconds) of jobs started from now on: ``waiting``,
        ``preparing``, ``executing``, ``executing_per_input``, ``result_processing``."""
        return self._control("PUT", "/jobs/timing", stages)

    def expire_tokens(self) -> None:
        """Makes every STS token issued so far expire now."""
        self._control("POST", "/tokens/expire")

    def storage_cors(self, provider: str = "s3") -> Dict[str, Any]:
        """The CORS configuration of a storage bucket (``"s3"`` or ``"oss"``): ``rules``
        (each with ``allowed_origins``, ``allowed_methods``, ``allowed_headers``,
        ``expose_headers``, ``max_age_seconds``) and ``response_vary``."""
        return self._control("GET", f"/storage/{provider}/cors")

    def set_storage_cors(self, provider: str, rules: Optional[List[Dict[str, Any]]], response_vary: bool = False) -> Dict[str, Any]:
        """Replaces a bucket's CORS rules, as PutBucketCors would, to reproduce a bucket a
        browser application meets; ``rules=[]`` turns CORS off and ``rules=None`` puts
        back the configured rules."""
        if rules is None:
            return self._control("DELETE", f"/storage/{provider}/cors")
        return self._control("PUT", f"/storage/{provider}/cors", {"rules": rules, "response_vary": response_vary})

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"TerraMock({self.base_url or '-'}, {state})"


_running: "weakref.WeakSet[TerraMock]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for mock in list(_running):
        mock.stop(timeout=3)
