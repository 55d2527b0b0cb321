"""The parts of ``rtorch.utils.benchmark``: ``common`` (TaskSpec, Measurement), ``timer``
(Timer) and ``compare`` (Compare), as ``torch.utils.benchmark.utils``."""
