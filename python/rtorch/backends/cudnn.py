"""``rtorch.backends.cudnn``: cuDNN is not loaded; its flags are settable as programs expect."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
