"""rtorch.utils: data loading and helpers, as torch.utils."""
