"""dispatch: after-sales field service for an appliance manufacturer.

The package imports nothing heavy at import time; ``create_app`` is loaded on first use so
that workers and the routing core can ``import dispatch.routing`` without Flask.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from dispatch.app import create_app

        return create_app
    raise AttributeError(f"module 'dispatch' has no attribute {name!r}")
