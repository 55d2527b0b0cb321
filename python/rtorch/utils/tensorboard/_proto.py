"""Hand-written protobuf encoding of the few TensorBoard messages SummaryWriter emits.

Only encoding is needed, so each message is a function returning its wire bytes
instead of a generated class.  Field numbers follow tensorboard's ``event.proto``,
``summary.proto``, ``tensor.proto``, ``tensor_shape.proto``, the hparams plugin's
``api.proto`` / ``plugin_data.proto`` and ``google/protobuf/struct.proto``.

These are proto3 messages: a plain scalar field equal to its default is left out
(``_*_if_set``), but a member of a ``oneof`` is always written when chosen, even if
zero, because its presence is what tells the reader which member is set (a
``simple_value`` of 0.0 must still be read back as a scalar).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence

# Wire types.
_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2
_FIXED32 = 5

# tensorflow.DataType values used by the summaries.
DT_FLOAT = 1
DT_DOUBLE = 2
DT_INT32 = 3
DT_UINT8 = 4
DT_INT16 = 5
DT_INT8 = 6
DT_STRING = 7
DT_INT64 = 9
DT_BOOL = 10
DT_BFLOAT16 = 14
DT_HALF = 19

# SessionLog.SessionStatus.
SESSION_START = 1

# tensorboard.hparams enums.
HPARAM_DATA_TYPE_STRING = 1
HPARAM_DATA_TYPE_BOOL = 2
HPARAM_DATA_TYPE_FLOAT64 = 3
HPARAM_STATUS_SUCCESS = 1


def varint(value: int) -> bytes:
    """Base-128 varint; negative int32/int64 values take ten bytes (two's complement)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def field_varint(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + varint(int(value))


def field_double(field: int, value: float) -> bytes:
    return _key(field, _FIXED64) + struct.pack("<d", float(value))


def _to_float32(value: float) -> float:
    # A double beyond float32's range is stored as +-inf, as protobuf's own runtime
    # does, instead of failing with struct's OverflowError.
    value = float(value)
    try:
        struct.pack("<f", value)
    except OverflowError:
        return math.copysign(math.inf, value)
    return value


def field_float(field: int, value: float) -> bytes:
    return _key(field, _FIXED32) + struct.pack("<f", _to_float32(value))


def field_bytes(field: int, data: bytes) -> bytes:
    return _key(field, _LENGTH_DELIMITED) + varint(len(data)) + data


def field_string(field: int, text: str) -> bytes:
    return field_bytes(field, text.encode("utf-8"))


def _packed(field: int, payload: bytes) -> bytes:
    return field_bytes(field, payload) if payload else b""


def packed_doubles(field: int, values: Iterable[float]) -> bytes:
    values = [float(v) for v in values]
    return _packed(field, struct.pack(f"<{len(values)}d", *values))


def packed_floats(field: int, values: Iterable[float]) -> bytes:
    values = [_to_float32(v) for v in values]
    return _packed(field, struct.pack(f"<{len(values)}f", *values))


def packed_varints(field: int, values: Iterable[int]) -> bytes:
    return _packed(field, b"".join(varint(int(v)) for v in values))


def _double_if_set(field: int, value: float) -> bytes:
    # -0.0 differs from the default in its bits, and proto3 writes it.
    return field_double(field, value) if value != 0.0 or math.copysign(1.0, value) < 0 else b""


def _varint_if_set(field: int, value: int) -> bytes:
    return field_varint(field, value) if value else b""


def _string_if_set(field: int, text: str) -> bytes:
    return field_string(field, text) if text else b""


def _bytes_if_set(field: int, data: bytes) -> bytes:
    return field_bytes(field, data) if data else b""


def _messages_if_given(*fields: tuple[int, bytes | None]) -> bytes:
    # Each (field, encoded message) pair whose message is not None, even an empty one: a
    # chosen oneof member or sub-message must be present for the reader to see it.
    return b"".join(field_bytes(field, data) for field, data in fields if data is not None)


# ---- tensorboard.Event and its parts ------------------------------------------------


def event(
    wall_time: float,
    step: int = 0,
    *,
    file_version: str | None = None,
    summary: bytes | None = None,
    session_log_status: int | None = None,
    source_writer: str | None = None,
) -> bytes:
    """``Event``: wall_time (1), step (2), one of file_version (3) / summary (5) /
    session_log (7), source_metadata (10)."""
    out = _double_if_set(1, wall_time) + _varint_if_set(2, step)
    if file_version is not None:
        out += field_string(3, file_version)
    out += _messages_if_given((5, summary))
    if session_log_status is not None:
        out += field_bytes(7, _varint_if_set(1, session_log_status))
    if source_writer is not None:
        out += field_bytes(10, _string_if_set(1, source_writer))
    return out


def summary(values: Sequence[bytes]) -> bytes:
    """``Summary``: repeated Value (1)."""
    return b"".join(field_bytes(1, v) for v in values)


def summary_value(
    tag: str,
    *,
    metadata: bytes | None = None,
    simple_value: float | None = None,
    image: bytes | None = None,
    histo: bytes | None = None,
    audio: bytes | None = None,
    tensor: bytes | None = None,
) -> bytes:
    """``Summary.Value``: tag (1), metadata (9) and one of simple_value (2), image (4),
    histo (5), audio (6), tensor (8)."""
    out = _string_if_set(1, tag)
    if simple_value is not None:
        out += field_float(2, simple_value)
    return out + _messages_if_given((4, image), (5, histo), (6, audio), (8, tensor), (9, metadata))


def summary_metadata(
    plugin_name: str, content: bytes = b"", display_name: str = "", description: str = ""
) -> bytes:
    """``SummaryMetadata``: plugin_data (1) = PluginData(plugin_name (1), content (2)),
    display_name (2), summary_description (3)."""
    plugin = field_bytes(1, _string_if_set(1, plugin_name) + _bytes_if_set(2, content))
    return plugin + _string_if_set(2, display_name) + _string_if_set(3, description)


def image(height: int, width: int, colorspace: int, encoded: bytes) -> bytes:
    """``Summary.Image``: height (1), width (2), colorspace (3), encoded_image_string (4)."""
    return (
        _varint_if_set(1, height)
        + _varint_if_set(2, width)
        + _varint_if_set(3, colorspace)
        + _bytes_if_set(4, encoded)
    )


def audio(sample_rate: float, num_channels: int, length_frames: int, encoded: bytes) -> bytes:
    """``Summary.Audio``: sample_rate (1, float), num_channels (2), length_frames (3),
    encoded_audio_string (4), content_type (5)."""
    rate = field_float(1, sample_rate) if sample_rate else b""
    return (
        rate
        + _varint_if_set(2, num_channels)
        + _varint_if_set(3, length_frames)
        + _bytes_if_set(4, encoded)
        + field_string(5, "audio/wav")
    )


def histogram(
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limit: Iterable[float],
    bucket: Iterable[float],
) -> bytes:
    """``HistogramProto``: min (1), max (2), num (3), sum (4), sum_squares (5) as
    doubles, packed doubles bucket_limit (6) and bucket (7)."""
    return (
        _double_if_set(1, min)
        + _double_if_set(2, max)
        + _double_if_set(3, num)
        + _double_if_set(4, sum)
        + _double_if_set(5, sum_squares)
        + packed_doubles(6, bucket_limit)
        + packed_doubles(7, bucket)
    )


def tensor_shape(dims: Sequence[int]) -> bytes:
    """``TensorShapeProto``: repeated Dim (2), each Dim(size (1))."""
    return b"".join(field_bytes(2, _varint_if_set(1, d)) for d in dims)


def tensor(dtype: int, shape: Sequence[int] | None = None, values: bytes = b"") -> bytes:
    """``TensorProto``: dtype (1), tensor_shape (2) when given, then the already
    encoded ``*_val`` field(s) in ``values``."""
    out = _varint_if_set(1, dtype)
    if shape is not None:
        out += field_bytes(2, tensor_shape(shape))
    return out + values


# ---- the hparams plugin ---------------------------------------------------------------


def struct_value(value: bool | float | str) -> bytes:
    """``google.protobuf.Value``: number_value (2), string_value (3) or bool_value (4)."""
    if isinstance(value, bool):
        return field_varint(4, int(value))
    if isinstance(value, str):
        return field_string(3, value)
    return field_double(2, value)


def list_value(values: Iterable[bool | float | str]) -> bytes:
    """``google.protobuf.ListValue``: repeated Value (1)."""
    return b"".join(field_bytes(1, struct_value(v)) for v in values)


def hparam_info(name: str, data_type: int, domain_discrete: bytes | None) -> bytes:
    """``HParamInfo``: name (1), type (4), domain_discrete (5, a ListValue)."""
    return (
        _string_if_set(1, name)
        + _varint_if_set(4, data_type)
        + _messages_if_given((5, domain_discrete))
    )


def metric_info(tag: str) -> bytes:
    """``MetricInfo`` with name (1) = MetricName(tag (2))."""
    return field_bytes(1, _string_if_set(2, tag))


def experiment(hparam_infos: Sequence[bytes], metric_infos: Sequence[bytes]) -> bytes:
    """``Experiment``: hparam_infos (4), metric_infos (5)."""
    return b"".join(field_bytes(4, h) for h in hparam_infos) + b"".join(
        field_bytes(5, m) for m in metric_infos
    )


def session_start_info(hparams: Mapping[str, bool | float | str]) -> bytes:
    """``SessionStartInfo``: the map hparams (1), entries key (1) / Value (2)."""
    return b"".join(
        field_bytes(1, field_string(1, k) + field_bytes(2, struct_value(v)))
        for k, v in hparams.items()
    )


def session_end_info(status: int) -> bytes:
    """``SessionEndInfo``: status (1)."""
    return _varint_if_set(1, status)


def hparams_plugin_data(
    *,
    experiment: bytes | None = None,
    session_start_info: bytes | None = None,
    session_end_info: bytes | None = None,
    version: int = 0,
) -> bytes:
    """``HParamsPluginData``: version (1) and one of experiment (2),
    session_start_info (3), session_end_info (4)."""
    return _varint_if_set(1, version) + _messages_if_given(
        (2, experiment), (3, session_start_info), (4, session_end_info)
    )


def pr_curve_plugin_data(num_thresholds: int, version: int = 0) -> bytes:
    """``PrCurvePluginData``: version (1), num_thresholds (2)."""
    return _varint_if_set(1, version) + _varint_if_set(2, num_thresholds)


# ---- the custom_scalars plugin ----------------------------------------------------------


def multiline_chart(title: str, tags: Sequence[str]) -> bytes:
    """``Chart``: title (1), multiline (2) = MultilineChartContent(repeated tag (1))."""
    content = b"".join(field_string(1, t) for t in tags)
    return _string_if_set(1, title) + field_bytes(2, content)


def margin_chart(title: str, value: str, lower: str, upper: str) -> bytes:
    """``Chart``: title (1), margin (3) = MarginChartContent(series (1) =
    Series(value (1), lower (2), upper (3)))."""
    series = _string_if_set(1, value) + _string_if_set(2, lower) + _string_if_set(3, upper)
    return _string_if_set(1, title) + field_bytes(3, field_bytes(1, series))


def layout(categories: Sequence[tuple[str, Sequence[bytes]]]) -> bytes:
    """``Layout``: repeated category (2) = Category(title (1), repeated chart (2))."""
    return b"".join(
        field_bytes(2, _string_if_set(1, title) + b"".join(field_bytes(2, c) for c in charts))
        for title, charts in categories
    )


def mesh_plugin_data(
    name: str, content_type: int, components: int, shape: Sequence[int], json_config: str
) -> bytes:
    """``MeshPluginData``: version (1, 0), name (2), content_type (3), json_config (5),
    packed shape (6), components (7)."""
    return (
        _string_if_set(2, name)
        + _varint_if_set(3, content_type)
        + _string_if_set(5, json_config)
        + packed_varints(6, shape)
        + _varint_if_set(7, components)
    )
