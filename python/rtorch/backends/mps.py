"""``rtorch.backends.mps``: Apple's Metal backend is not part of rtorch."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
