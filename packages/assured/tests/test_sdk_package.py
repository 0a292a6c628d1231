"""The package surface: ``__all__`` complete, docstrings everywhere, a fast import, twins alike."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from functools import cached_property

import pytest

import assured

PUBLIC_MODULES = [
    "assured._client",
    "assured.exceptions",
    "assured.models.files",
    "assured.models.provider_profile",
    "assured.resources.files",
    "assured.resources.provider_profile",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_exported_from_the_package(module_name: str) -> None:
    module = importlib.import_module(module_name)
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith(module_name)
    }
    assert defined <= set(module.__all__), (
        f"{module_name}.__all__ misses {defined - set(module.__all__)}"
    )
    assert set(module.__all__) <= set(assured.__all__)


def test_every_name_in_all_is_importable() -> None:
    for name in assured.__all__:
        assert getattr(assured, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from assured import *", namespace)  # noqa: S102 - the point of the test
    assert set(assured.__all__) <= set(namespace)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = assured.NoSuchThing


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in assured.__all__:
        value = getattr(assured, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if not inspect.getdoc(value):
            missing.append(name)
        if not inspect.isclass(value):
            continue
        for klass in value.__mro__:
            if not klass.__module__.startswith("assured"):
                continue
            for attr, member in vars(klass).items():
                documented = callable(member) or isinstance(member, property | cached_property)
                if attr.startswith("_") or not documented:
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{klass.__name__}.{attr}")
    assert sorted(set(missing)) == []


def test_model_fields_are_documented() -> None:
    from pydantic import BaseModel

    for name in assured.__all__:
        value = getattr(assured, name)
        if inspect.isclass(value) and issubclass(value, BaseModel):
            undocumented = [f for f, info in value.model_fields.items() if not info.description]
            assert undocumented == [], name


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"),
    [
        ("AssuredClient", "Assured"),
        ("AsyncFiles", "Files"),
        ("AsyncProviderProfiles", "ProviderProfiles"),
    ],
)
def test_sync_twin_has_the_same_surface(async_cls: str, sync_cls: str) -> None:
    a, s = getattr(assured, async_cls), getattr(assured, sync_cls)

    def surface(cls: type) -> dict[str, object]:
        members: dict[str, object] = {}
        for name, member in inspect.getmembers(cls):
            if name.startswith("_"):
                continue
            members[name] = (
                list(inspect.signature(member).parameters) if callable(member) else type(member)
            )
        return members

    assert surface(a) == surface(s)
    for name, member in inspect.getmembers(a):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            assert not inspect.iscoroutinefunction(getattr(s, name)), name


def _run(code: str) -> str:
    return (
        subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        + "\n"
    )


def test_import_is_fast_and_loads_neither_the_cli_nor_http_yet() -> None:
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sys, assured; print(sorted(m for m in ('httpx', 'pydantic', 'typer', "
            "'rich', 'assured.cli') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"
    best = min(_cumulative_us(_run("import assured"), "assured") for _ in range(3))
    assert best < 150_000, f"import assured took {best} µs"


def test_using_the_client_does_not_load_the_cli() -> None:
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sys; from assured import AssuredClient, Assured; "
            "c = Assured(api_key='k'); c.files; c.provider_profile; "
            "print(sorted(m for m in ('typer', 'assured.cli') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def _cumulative_us(importtime: str, module: str) -> int:
    for line in importtime.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise AssertionError(f"{module} not in -X importtime output")


def _loaded(code: str, modules: tuple[str, ...]) -> list[str]:
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            f"{code}\nimport sys; print(sorted(set({modules!r}) & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded: list[str] = eval(out.strip().splitlines()[-1])  # noqa: S307 - our own output
    return loaded


# With the CLI extra installed (it is, here), httpx would import its own command line: click,
# rich and pygments, some 150 ms of a start that needs none of them.
HTTPX_CLI = ("click", "rich", "pygments", "httpx._main")


# What httpx brings with it; `from assured import AssuredClient` defers it to the first client.
HTTPX_ITSELF = ("httpx", "httpcore", "http.client", "urllib.request", "email.parser", "ssl", "idna")


def test_the_client_loads_neither_httpx_cli_nor_the_models_until_used() -> None:
    assert importlib.util.find_spec("rich") is not None, "the CLI extra must be installed"
    assert _loaded("from assured import AssuredClient", (*HTTPX_CLI, "pydantic", "anyio")) == []
    code = (
        "from assured import Assured, AssuredClient\n"
        "c = Assured(api_key='k'); c.files; c.provider_profile\n"
        "a = AssuredClient(api_key='k'); a.files; a.provider_profile"
    )
    assert _loaded(code, HTTPX_CLI) == []


def test_cli_help_loads_no_http_client_models_or_rich_help() -> None:
    code = (
        "import sys\n"
        "from assured.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    heavy = ("httpx", "pydantic", "anyio", "rich.console", "markdown_it", "pygments")
    assert _loaded(code, heavy) == []


def test_httpx_own_command_line_is_still_importable_after_the_sdk() -> None:
    code = "from assured import AssuredClient\nimport httpx._main"
    assert _loaded(code, ("httpx._main", "click")) == ["click", "httpx._main"]


def test_importing_the_clients_defers_httpx_until_one_is_made() -> None:
    # Importing the SDK (the clients, the exceptions, the per-call options) imports no httpx.
    code = (
        "import assured\n"
        "from assured import Assured, AssuredClient, CallOptions, DownloadDestination\n"
        "from assured.exceptions import APIConnectionError\n"
        "assert assured.AssuredClient is AssuredClient\n"
    )
    assert _loaded(code, HTTPX_ITSELF) == []
    # Nor what only a request needs (idempotency keys, multipart boundaries, storage errors).
    assert _loaded(code, ("uuid", "secrets", "html")) == []
    # The first client made imports it (without its command line), sync or async alike.
    for client in ("Assured", "AssuredClient"):
        made = f"from assured import {client}\nc = {client}(api_key='k')\nassert c.timeout.read"
        assert _loaded(made, ("httpx", *HTTPX_CLI)) == ["httpx"]
        # Its connection pool (httpcore, the TLS roots) waits for the first request.
        assert _loaded(made, ("httpcore", "certifi")) == []


def test_the_lazy_httpx_is_the_real_module_once_used() -> None:
    import httpx

    from assured import Assured
    from assured._httpx import httpx as lazy
    from assured._httpx import load

    assert load() is httpx
    assert lazy.Timeout is httpx.Timeout
    with Assured(api_key="k", timeout=3) as client:
        assert isinstance(client.timeout, httpx.Timeout)
        assert client.with_options(timeout=httpx.Timeout(5)).timeout == httpx.Timeout(5)
