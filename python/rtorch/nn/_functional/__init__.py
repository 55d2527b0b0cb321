"""The implementation files behind rtorch.nn.functional, one per family."""
