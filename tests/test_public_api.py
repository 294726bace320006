"""A snapshot of the public surface: changing it is a deliberate act (update the list and the changelog)."""

from __future__ import annotations

import invekto_integrations
from invekto_integrations.core.errors import IntegrationError, ProviderError
from invekto_integrations.providers.base import ProviderInfo, ProviderKind
from invekto_integrations.providers.registry import ProviderRegistry


def test_top_level_names_are_stable() -> None:
    expected = {
        "AccountRestricted", "AlreadyExists", "AsyncIntegrations", "AsyncSandboxIntegrations",
        "AuthenticationError", "ClientSettings", "Clock", "ConfigurationError", "Integrations", "KeyRing",
        "SandboxIntegrations",
        "ConsentError", "DecryptionError", "FrozenClock", "IntegrationError", "InvalidArgument",
        "InvalidParameter", "InvalidPhoneNumber", "InvalidRequest", "Money", "NotFound",
        "OutsideServiceWindow", "PayloadError", "PermissionDenied", "PreconditionFailed", "ProviderError",
        "ProviderUnavailable", "RateLimited", "RecipientUnavailable", "StorageError", "SyncTokenExpired",
        "SystemClock", "TemplateUnavailable", "__version__", "normalize_phone",
    }
    assert set(invekto_integrations.__all__) == expected
    for name in invekto_integrations.__all__:
        assert hasattr(invekto_integrations, name), name


def test_every_core_error_is_exported_at_the_top_level() -> None:
    from invekto_integrations.core import errors

    core = {n for n in errors.__all__ if issubclass(getattr(errors, n), Exception)}
    missing = core - set(invekto_integrations.__all__)
    assert not missing, missing
    for name in ("DecryptionError", "InvalidPhoneNumber"):
        assert issubclass(getattr(invekto_integrations, name), IntegrationError)


def test_every_error_descends_from_the_root() -> None:
    for name in invekto_integrations.__all__:
        obj = getattr(invekto_integrations, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, IntegrationError), name


def test_registry_lists_installed_providers_by_kind() -> None:
    reg = ProviderRegistry.load()
    names = [p.name for p in reg.all()]
    assert names == sorted(names)
    for info in reg.all():
        assert isinstance(info, ProviderInfo)
        assert info in reg.of_kind(info.kind)


def test_manual_registration_and_unknown_provider() -> None:
    import pytest

    from invekto_integrations.core.errors import ConfigurationError

    reg = ProviderRegistry()
    info = ProviderInfo(name="acme", kind=ProviderKind.OTHER, label="Acme")
    reg.register(info)
    assert reg.get("acme") is info
    with pytest.raises(ConfigurationError, match="unknown provider 'nope'"):
        reg.get("nope")
    with pytest.raises(ConfigurationError):
        reg.register(ProviderInfo(name="acme", kind=ProviderKind.OTHER, label="Other"))


def test_provider_error_str_leads_with_request_id() -> None:
    err = ProviderError("boom", provider="trendyol", operation="list_orders", status=500, code="X",
                        request_id="r-1")
    assert str(err) == "Request r-1: [trendyol list_orders HTTP 500 code=X] boom"


def test_every_module_imports_and_its_all_names_exist() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(invekto_integrations.__path__, "invekto_integrations."):
        if mod.name.endswith("__main__"):
            continue
        module = importlib.import_module(mod.name)
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{mod.name}.__all__ names {name!r}, which it does not define"


def test_every_error_class_descends_from_the_root() -> None:
    from invekto_integrations.core import errors

    classes = [getattr(errors, n) for n in errors.__all__]
    assert all(isinstance(c, type) and issubclass(c, IntegrationError) for c in classes)
