"""The one error type the harness raises on purpose: a message for humans plus a kind for the host."""


class HarnessError(Exception):
    """`kind` is a short machine-readable category (config, dataset, model-load, oom, inference, ...)."""

    def __init__(self, message: str, kind: str = "internal") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
