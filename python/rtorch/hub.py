"""Downloading and caching checkpoints, as ``torch.hub`` does for pretrained weights.

The cache is ``get_dir()/checkpoints``: ``$RTORCH_HOME/hub`` when ``RTORCH_HOME`` is set,
otherwise PyTorch's own hub directory (``$TORCH_HOME/hub``, default
``~/.cache/torch/hub``), so weights a user already downloaded with torchvision are found.
When ``RTORCH_HOME`` is set, PyTorch's directory is still searched second.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

DOWNLOAD_TIMEOUT_S = 15.0
# torchvision's file names end in the first hex digits of their SHA-256: resnet18-f37072fd.pth
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")

_hub_dir: str | None = None


def _torch_hub_dir() -> str:
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home is None:
        cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
        torch_home = os.path.join(cache, "torch")
    return os.path.join(os.path.expanduser(torch_home), "hub")


def get_dir() -> str:
    """The hub directory: set by :func:`set_dir`, else ``$RTORCH_HOME/hub``, else
    PyTorch's (``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``)."""
    if _hub_dir is not None:
        return _hub_dir
    rtorch_home = os.environ.get("RTORCH_HOME")
    if rtorch_home:
        return os.path.join(os.path.expanduser(rtorch_home), "hub")
    return _torch_hub_dir()


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub directory from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _progress_bar(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)


def download_url_to_file(
    url: str, dst: str | os.PathLike, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` to ``dst`` (atomically: a partial download never sits at ``dst``).

    Raises RuntimeError when the download fails (offline, unreachable, bad hash), naming
    the file and where to put it by hand.
    """
    dst = os.path.expanduser(os.fspath(dst))
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "rtorch.hub"})
    sha256 = hashlib.sha256()
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, suffix=".partial")  # noqa: SIM115
    try:
        try:
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
                length = response.headers.get("Content-Length") if response.headers else None
                bar = _progress_bar(int(length) if length else None, progress)
                while chunk := response.read(1 << 20):
                    tmp.write(chunk)
                    sha256.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(
                f"could not download {url} ({reason}). If this machine is offline, download "
                f"the file elsewhere and put it at {dst} (in the directory {folder}); it is "
                "looked up there before any download."
            ) from exc
        tmp.close()
        if hash_prefix is not None:
            digest = sha256.hexdigest()
            if not digest.startswith(hash_prefix):
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(tmp.name, dst)
    finally:
        tmp.close()
        if os.path.exists(tmp.name):
            os.remove(tmp.name)


def _cached_file(filename: str, model_dir: str | None) -> tuple[str, str | None]:
    """Where ``filename`` is (or would be downloaded to), and whether it exists."""
    if model_dir is not None:
        primary = os.path.join(os.path.expanduser(model_dir), filename)
        return primary, primary if os.path.exists(primary) else None
    primary = os.path.join(get_dir(), "checkpoints", filename)
    for candidate in (primary, os.path.join(_torch_hub_dir(), "checkpoints", filename)):
        if os.path.exists(candidate):
            return primary, candidate
    return primary, None


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = False,
) -> dict[str, Any]:
    """Load the checkpoint at ``url``, from the cache when it is there.

    Args:
        url: where the checkpoint lives.
        model_dir: the directory to cache in (default ``get_dir()/checkpoints``).
        map_location: passed to :func:`rtorch.load`.
        progress: show a progress bar while downloading (when tqdm is installed).
        check_hash: check the SHA-256 of a download against the hex digits the file name
            ends with (``name-<hash>.pth``).
        file_name: the cached file's name (default: the URL's last path component).
        weights_only: passed to :func:`rtorch.load`.

    Example::

        >>> sd = rtorch.hub.load_state_dict_from_url(
        ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth")
    """
    filename = file_name or os.path.basename(urlparse(url).path)
    if not filename:
        raise ValueError(f"cannot tell the file name of {url!r}; pass file_name=")
    destination, found = _cached_file(filename, model_dir)
    if found is None:
        hash_prefix = None
        if check_hash:
            match = HASH_REGEX.search(filename)
            hash_prefix = match.group(1) if match else None
        download_url_to_file(url, destination, hash_prefix, progress=progress)
        found = destination
    from .serialization import load

    return load(found, map_location=map_location, weights_only=weights_only)


# ---------------------------------------------------------------------------------------
# hubconf.py entry points (local directories)
# ---------------------------------------------------------------------------------------


def _hubconf(repo_or_dir: str, source: str) -> Any:
    """The ``hubconf`` module of a local directory; GitHub sources need a clone first."""
    if source == "github":
        raise RuntimeError(
            f"rtorch.hub does not fetch GitHub repositories ({repo_or_dir!r}); clone it and "
            "call rtorch.hub.load(path_to_clone, model, source='local')"
        )
    if source != "local":
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    import importlib.util
    import sys

    path = os.path.join(os.path.expanduser(repo_or_dir), "hubconf.py")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no hubconf.py in {repo_or_dir!r}")
    spec = importlib.util.spec_from_file_location("hubconf", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.dirname(path))
    return module


def _entrypoints(module: Any) -> list[str]:
    return [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]


def list(repo_or_dir: str, source: str = "github", **kwargs: Any) -> list[str]:
    """The entry points of ``hubconf.py`` in ``repo_or_dir`` (``source='local'``)."""
    return _entrypoints(_hubconf(repo_or_dir, source))


def help(repo_or_dir: str, model: str, source: str = "github", **kwargs: Any) -> str:
    """The docstring of entry point ``model``."""
    return getattr(_hubconf(repo_or_dir, source), model).__doc__ or ""


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", **kwargs: Any) -> Any:
    """Call entry point ``model`` of ``hubconf.py`` in local directory ``repo_or_dir``."""
    for name in ("trust_repo", "force_reload", "verbose", "skip_validation"):
        kwargs.pop(name, None)
    module = _hubconf(repo_or_dir, source)
    if model not in _entrypoints(module):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return getattr(module, model)(*args, **kwargs)
