"""Helpers for dependency providers that work with the other providers of their container."""


def sibling(container, provider_class):
    """The container's (bound) provider of ``provider_class``."""
    for provider in container.dependencies:
        if isinstance(provider, provider_class):
            return provider
    raise LookupError(f"{container.service_name} has no {provider_class.__name__}")
