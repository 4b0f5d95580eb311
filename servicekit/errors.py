"""Contract errors cross RPC as themselves.

Nameko serialises an exception with its module path and rebuilds it on the caller's side only
if that path is in its registry; otherwise the caller gets an opaque ``RemoteError``. The
contract errors live in one module that every process imports, so registering them once here
makes ``NotFound`` raised by a service arrive as ``NotFound`` in the gateway.
"""

from nameko.exceptions import registry

from contracts.errors import ALL_ERRORS

for error_class in ALL_ERRORS:
    registry[f"{error_class.__module__}.{error_class.__name__}"] = error_class
