"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, as ``torch.nn``.

Parameter names, shapes, gate orders (LSTM: i, f, g, o; GRU: r, z, n), initialisation
and the shapes of inputs, outputs and hidden states follow PyTorch, so state_dicts move
between the two. The input projection of a whole layer is one matmul over every time
step; only the recurrent part walks the steps.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import rtorch
from rtorch import Tensor

from ... import _C
from .. import functional as F
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

# Whether RNN/LSTM/GRU layers run through the fused Rust layer op (`_C._rnn_layer`: one
# autograd node per layer whose backward is a backward-through-time kernel). The
# step-by-step path below serves what the fused op does not cover (proj_size, dtypes
# other than float32/float64, mixed dtypes, empty inputs) and double backward, which
# the fused op does not support: set this to False to differentiate twice through a
# recurrent layer.
_USE_FUSED = True
_FUSED_DTYPES = (rtorch.float32, rtorch.float64)


# --- one time step of each kind of cell ----------------------------------------------
# `x_proj` is the input projection of this step with its bias already added; `w_hh` and
# `b_hh` are the recurrent weight and bias. Each returns the new state.


def _rnn_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool):
    pre = x_proj + h.matmul(w_hh.t()) if b_hh is None else x_proj + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    gates = x_proj + (h.matmul(w_hh.t()) if b_hh is None else F.linear(h, w_hh, b_hh))
    hidden = c.shape[-1]
    ifo = gates[..., : 2 * hidden].sigmoid()
    g = gates[..., 2 * hidden : 3 * hidden].tanh()
    o = gates[..., 3 * hidden :].sigmoid()
    c_next = ifo[..., hidden:] * c + ifo[..., :hidden] * g
    return o * c_next.tanh(), c_next


def _gru_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    h_proj = h.matmul(w_hh.t()) if b_hh is None else F.linear(h, w_hh, b_hh)
    hidden = h.shape[-1]
    rz = (x_proj[..., : 2 * hidden] + h_proj[..., : 2 * hidden]).sigmoid()
    r, z = rz[..., :hidden], rz[..., hidden:]
    n = (x_proj[..., 2 * hidden :] + r * h_proj[..., 2 * hidden :]).tanh()
    return n + z * (h - n)


def _uniform_by_hidden_size(module: Module) -> None:
    """Every parameter uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch's
    recurrent layers and cells initialise."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    with rtorch.no_grad():
        for weight in module.parameters():
            weight.uniform_(-bound, bound)


class RNNBase(Module):
    """Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU`.

    Holds the per-layer, per-direction weights ``weight_ih_l{k}[_reverse]``,
    ``weight_hh_l{k}[_reverse]``, ``bias_ih_l{k}[_reverse]``, ``bias_hh_l{k}[_reverse]``
    (and ``weight_hr_l{k}[_reverse]`` for an LSTM with ``proj_size > 0``).
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if (
            not isinstance(dropout, numbers.Number)
            or not 0 <= dropout <= 1
            or isinstance(dropout, bool)
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability "
                "of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                UserWarning,
                stacklevel=2,
            )
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        factory = {"device": device, "dtype": dtype}
        directions = 2 if bidirectional else 1
        real_hidden = proj_size or hidden_size
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [
                    (f"weight_ih_l{layer}{suffix}", (gate_size, layer_input)),
                    (f"weight_hh_l{layer}{suffix}", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [
                        (f"bias_ih_l{layer}{suffix}", (gate_size,)),
                        (f"bias_hh_l{layer}{suffix}", (gate_size,)),
                    ]
                if proj_size:
                    shapes.append((f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, Parameter(rtorch.empty(shape, **factory)))
                names = [name for name, _ in shapes]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_by_hidden_size(self)

    def flatten_parameters(self) -> None:
        """A no-op: rtorch keeps no fused weight buffer (kept for PyTorch compatibility)."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # --- shapes and checks -----------------------------------------------------------

    def _state_shape(self, batch: int, size: int) -> tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    def _check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]}"
            )

    # --- the recurrence ----------------------------------------------------------------

    def _layer_weights(self, layer: int, direction: int) -> list[Tensor | None]:
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + direction]
        params = [getattr(self, n) for n in names]
        w_ih, w_hh = params[0], params[1]
        b_ih, b_hh = (params[2], params[3]) if self.bias else (None, None)
        w_hr = params[-1] if self.proj_size else None
        return [w_ih, w_hh, b_ih, b_hh, w_hr]

    def _run_direction(
        self,
        x: Tensor,
        steps: list[tuple[int, int, int]],
        state: tuple[Tensor, ...],
        weights: list[Tensor | None],
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Runs one direction of one layer.

        ``x`` is time-major and flat: (total rows, features). ``steps`` lists
        (row offset, rows, step) in the order to visit; at each step the rows belong to
        the first ``rows`` sequences of the batch, whose state is updated; the others keep
        theirs. Returns the outputs in ``x``'s row order and the final state.
        """
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        # Fold the recurrent bias into the input projection where the math allows it.
        fold = b_hh is not None and self.mode != "GRU"
        bias = (b_ih + b_hh) if fold else b_ih
        x_proj = F.linear(x, w_ih, bias)
        rec_bias = None if fold else b_hh
        outputs: list[Tensor | None] = [None] * len(steps)
        for k, (offset, rows, _) in enumerate(steps):
            xp = x_proj[offset : offset + rows]
            full = rows == state[0].shape[0]
            active = state if full else tuple(s[:rows] for s in state)
            if self.mode == "LSTM":
                h, c = _lstm_step(xp, active[0], active[1], w_hh, rec_bias)
                if w_hr is not None:
                    h = h.matmul(w_hr.t())
                new = (h, c)
            elif self.mode == "GRU":
                new = (_gru_step(xp, active[0], w_hh, rec_bias),)
            else:
                new = (_rnn_step(xp, active[0], w_hh, rec_bias, self.mode == "RNN_RELU"),)
            state = new if full else tuple(rtorch.cat([n, s[rows:]], 0) for n, s in zip(new, state))
            outputs[k] = new[0]
        order = sorted(range(len(steps)), key=lambda k: steps[k][0])
        return rtorch.cat([outputs[k] for k in order], 0), state

    def _fused_ok(self, x: Tensor, states: tuple[Tensor, ...]) -> bool:
        if not _USE_FUSED or self.proj_size or x.shape[0] == 0:
            return False
        dtype = x.dtype
        if dtype not in _FUSED_DTYPES or any(s.dtype != dtype for s in states):
            return False
        return all(w.dtype == dtype for w in self._flat_weights)

    def _run_fused(
        self, x: Tensor, batch_sizes: list[int], states: tuple[Tensor, ...]
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """`_run` through the fused layer op: per layer, the input projection of every
        step (one matmul per direction), then one `_C._rnn_layer` call for all
        directions."""
        directions = 2 if self.bidirectional else 1
        is_lstm = self.mode == "LSTM"
        is_gru = self.mode == "GRU"
        per_dir = 3 if is_lstm else 2
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            args = []
            for direction in range(directions):
                index = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh, _ = self._layer_weights(layer, direction)
                if b_hh is not None and not is_gru:
                    x_proj = F.linear(x, w_ih, b_ih + b_hh)
                    b_hh = None
                else:
                    x_proj = F.linear(x, w_ih, b_ih)
                c0 = states[1][index] if is_lstm else None
                args.append((x_proj, states[0][index], c0, w_hh, b_hh, direction == 1))
            res = _C._rnn_layer(self.mode, batch_sizes, args)
            outs = res[0::per_dir]
            for k, keep in enumerate(finals):
                keep.extend(res[k + 1 :: per_dir])
            x = outs[0] if directions == 1 else rtorch.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, tuple(rtorch.stack(f, 0) for f in finals)

    def _run(
        self, x: Tensor, batch_sizes: list[int], states: tuple[Tensor, ...]
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """All layers and directions over a flat time-major input; states (L*D, B, H)."""
        if self._fused_ok(x, states):
            return self._run_fused(x, batch_sizes, states)
        directions = 2 if self.bidirectional else 1
        offsets = [0]
        for b in batch_sizes:
            offsets.append(offsets[-1] + b)
        forward_steps = [(offsets[t], b, t) for t, b in enumerate(batch_sizes)]
        backward_steps = forward_steps[::-1]
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = tuple(s[index] for s in states)
                out, state = self._run_direction(
                    x,
                    forward_steps if direction == 0 else backward_steps,
                    state,
                    self._layer_weights(layer, direction),
                )
                outs.append(out)
                for keep, s in zip(finals, state):
                    keep.append(s)
            x = outs[0] if directions == 1 else rtorch.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, tuple(rtorch.stack(f, 0) for f in finals)

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> Any:
        is_lstm = self.mode == "LSTM"
        real_hidden = self.proj_size or self.hidden_size
        if isinstance(input, PackedSequence):
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
            batch = batch_sizes[0]
            self._check_input(data, batch_sizes_t)
            flat = data
            unbatched = False
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                    f"{input.dim()}D instead"
                )
            unbatched = input.dim() == 2
            sorted_indices = unsorted_indices = None
            x = input.unsqueeze(1) if unbatched else input
            if self.batch_first and not unbatched:
                x = x.transpose(0, 1)
            self._check_input(x, None)
            steps, batch = x.shape[0], x.shape[1]
            batch_sizes = [batch] * steps
            flat = x.reshape(steps * batch, x.shape[2])
        states = self._initial_states(hx, batch, real_hidden, flat, unbatched, sorted_indices)
        out, finals = self._run(flat, batch_sizes, states)
        if unsorted_indices is not None:
            finals = tuple(f.index_select(1, unsorted_indices) for f in finals)
        if isinstance(input, PackedSequence):
            output: Any = PackedSequence(out, batch_sizes_t, sorted_indices, unsorted_indices)
        else:
            output = out.reshape(len(batch_sizes), batch, out.shape[-1])
            if unbatched:
                output = output.squeeze(1)
                finals = tuple(f.squeeze(1) for f in finals)
            elif self.batch_first:
                output = output.transpose(0, 1)
        hidden = finals if is_lstm else finals[0]
        return output, hidden

    def _initial_states(
        self,
        hx: Any,
        batch: int,
        real_hidden: int,
        ref: Tensor,
        unbatched: bool,
        sorted_indices: Tensor | None,
    ) -> tuple[Tensor, ...]:
        is_lstm = self.mode == "LSTM"
        h_shape = self._state_shape(batch, real_hidden)
        c_shape = self._state_shape(batch, self.hidden_size)
        if hx is None:
            zeros = [ref.new_zeros(h_shape)]
            if is_lstm:
                zeros.append(ref.new_zeros(c_shape))
            return tuple(zeros)
        given = tuple(hx) if is_lstm else (hx,)
        if is_lstm and len(given) != 2:
            raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
        for t in given:
            if unbatched and t.dim() != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, hx{' and cx' if is_lstm else ''} should also "
                    f"be 2-D but got ({t.dim()}-D) tensor{'s' if is_lstm else ''}"
                )
            if not unbatched and t.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx{' and cx' if is_lstm else ''} should also "
                    f"be 3-D but got ({t.dim()}-D) tensor{'s' if is_lstm else ''}"
                )
        if unbatched:
            given = tuple(t.unsqueeze(1) for t in given)
        if sorted_indices is not None:
            given = tuple(t.index_select(1, sorted_indices) for t in given)
        expected = [h_shape] + ([c_shape] if is_lstm else [])
        names = ["hidden[0]", "hidden[1]"] if is_lstm else ["hidden"]
        for t, shape, name in zip(given, expected, names):
            if tuple(t.shape) != shape:
                raise RuntimeError(f"Expected {name} size {shape}, got {list(t.shape)}")
        return given


class RNN(RNNBase):
    r"""A multi-layer Elman RNN with tanh or ReLU: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} +
    h_{t-1} W_{hh}^T + b_{hh})`.

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        num_layers: the number of stacked layers. Default: 1
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``
        bias: whether the layers have biases. Default: ``True``
        batch_first: inputs and outputs are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout on the outputs of every layer but the last. Default: 0
        bidirectional: run a second pass over the reversed sequence. Default: ``False``

    Shape:
        - Input: ``(L, H_in)``, ``(L, N, H_in)`` or ``(N, L, H_in)`` with ``batch_first``,
          or a :class:`~rtorch.nn.utils.rnn.PackedSequence`.
        - h_0: ``(D * num_layers, H_out)`` or ``(D * num_layers, N, H_out)``; zeros if
          omitted. ``D`` is 2 if bidirectional, else 1.
        - Output: ``(L, N, D * H_out)`` (or the batch-first / unbatched forms), and h_n.

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)
        # (No extra_repr: PyTorch 2.15 prints RNN without its nonlinearity.)


class LSTM(RNNBase):
    r"""A multi-layer long short-term memory RNN (gates i, f, g, o as PyTorch).

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        num_layers: the number of stacked layers. Default: 1
        bias: whether the layers have biases. Default: ``True``
        batch_first: inputs and outputs are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout on the outputs of every layer but the last. Default: 0
        bidirectional: run a second pass over the reversed sequence. Default: ``False``
        proj_size: if > 0, project the hidden state to this size. Default: 0

    Shape:
        - Input: ``(L, H_in)``, ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first``, or
          a PackedSequence; ``(h_0, c_0)`` optional, zeros if omitted.
        - Output: ``output, (h_n, c_n)`` with ``h_n`` of shape ``(D * num_layers, N, H_out)``
          and ``c_n`` of shape ``(D * num_layers, N, H_cell)``.

    Example::

        >>> lstm = nn.LSTM(10, 20, 2, bidirectional=True)
        >>> output, (hn, cn) = lstm(torch.randn(5, 3, 10))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    r"""A multi-layer gated recurrent unit RNN (gates r, z, n as PyTorch).

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        num_layers: the number of stacked layers. Default: 1
        bias: whether the layers have biases. Default: ``True``
        batch_first: inputs and outputs are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout on the outputs of every layer but the last. Default: 0
        bidirectional: run a second pass over the reversed sequence. Default: ``False``

    Shape:
        As :class:`RNN`.

    Example::

        >>> gru = nn.GRU(10, 20, 2)
        >>> output, hn = gru(torch.randn(5, 3, 10))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """Base of the single-step cells: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(rtorch.empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = Parameter(rtorch.empty((num_chunks * hidden_size, hidden_size), **factory))
        if bias:
            self.bias_ih = Parameter(rtorch.empty(num_chunks * hidden_size, **factory))
            self.bias_hh = Parameter(rtorch.empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_by_hidden_size(self)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _prepare(self, input: Tensor, hx: Tensor | None, name: str) -> tuple[Tensor, bool]:
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        unbatched = input.dim() == 1
        return (input.unsqueeze(0) if unbatched else input), unbatched

    def _zeros(self, input: Tensor) -> Tensor:
        return input.new_zeros(input.shape[0], self.hidden_size)


class RNNCell(RNNCellBase):
    r"""One step of an Elman RNN: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`.

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        bias: whether to use biases. Default: ``True``
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``; hidden: ``(N, H_out)`` or ``(H_out)``, zeros
          if omitted. Output: the next hidden state, same shape as hidden.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._prepare(input, hx, "RNNCell")
        h = self._zeros(x) if hx is None else (hx.unsqueeze(0) if unbatched else hx)
        out = _rnn_step(
            F.linear(x, self.weight_ih, self.bias_ih),
            h,
            self.weight_hh,
            self.bias_hh,
            self.nonlinearity == "relu",
        )
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    r"""One step of an LSTM (gates i, f, g, o).

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        bias: whether to use biases. Default: ``True``

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``; ``(h_0, c_0)``: each ``(N, H)`` or ``(H)``,
          zeros if omitted. Output: ``(h_1, c_1)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x, unbatched = self._prepare(input, None if hx is None else hx[0], "LSTMCell")
        if hx is None:
            h = c = self._zeros(x)
        else:
            h, c = (t.unsqueeze(0) for t in hx) if unbatched else hx
        h, c = _lstm_step(
            F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh
        )
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    r"""One step of a GRU (gates r, z, n).

    Args:
        input_size: the number of features of the input.
        hidden_size: the number of features of the hidden state.
        bias: whether to use biases. Default: ``True``

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``; hidden: ``(N, H)`` or ``(H)``, zeros if
          omitted. Output: the next hidden state.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._prepare(input, hx, "GRUCell")
        h = self._zeros(x) if hx is None else (hx.unsqueeze(0) if unbatched else hx)
        out = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return out.squeeze(0) if unbatched else out
