"""Internals of rtorch.utils.data: collation and the worker loop."""
