"""Summaries behind SummaryWriter's ``add_*``, as ``torch.utils.tensorboard.summary``.

Each function turns user values (rtorch tensors, numpy arrays, Python numbers) into
one ``Summary`` protobuf, laid out as TensorBoard's plugins read it (scalars,
histograms, images, audio, video, text, hparams, pr_curves, meshes, custom scalars,
tensors).  Unlike PyTorch's, which return protobuf objects, these return the
serialized bytes, which ``FileWriter.add_summary`` takes.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Mapping, Sequence

import numpy as np

import rtorch

from . import _proto as pb
from ._convert import convert_to_hwc, make_np
from ._png import encode_png

__all__ = [
    "audio",
    "compute_curve",
    "custom_scalars",
    "histogram",
    "histogram_raw",
    "hparams",
    "image",
    "image_boxes",
    "mesh",
    "pr_curve",
    "pr_curve_raw",
    "scalar",
    "tensor_proto",
    "text",
    "video",
]


def default_bins() -> list[float]:
    """TensorBoard's default histogram edges: +-1e-12 growing by 10% up to 1e20 in
    magnitude, mirrored around an edge at 0."""
    positive = []
    v = 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-x for x in reversed(positive)] + [0.0] + positive


def scalar(
    name: str,
    tensor: object,
    collections: object = None,
    new_style: bool = False,
    double_precision: bool = False,
) -> bytes:
    """A one-value summary: ``simple_value`` (float32), or with ``new_style`` a
    scalars-plugin tensor (float32, or float64 with ``double_precision``)."""
    # ``collections`` is TensorFlow's graph collections, unused as in PyTorch.
    array = make_np(tensor).squeeze()
    if array.ndim != 0:
        raise AssertionError(
            "Tensor should contain one element (0 dimensions). "
            f"Was given size: {array.size} and {array.ndim} dimensions."
        )
    number = float(array)
    if not new_style:
        return pb.summary([pb.summary_value(name, simple_value=number)])
    if double_precision:
        t = pb.tensor(pb.DT_DOUBLE, None, pb.packed_doubles(6, [number]))
    else:
        t = pb.tensor(pb.DT_FLOAT, None, pb.packed_floats(5, [number]))
    meta = pb.summary_metadata("scalars")
    return pb.summary([pb.summary_value(name, metadata=meta, tensor=t)])


def _half_bits(array: np.ndarray) -> list[int]:
    return array.astype(np.float16).view(np.uint16).reshape(-1).tolist()


def _bfloat16_bits(array: np.ndarray) -> list[int]:
    # bfloat16 is the upper half of a float32, and ``make_np`` widened it exactly.
    return (array.astype(np.float32).view(np.uint32) >> 16).reshape(-1).tolist()


# rtorch dtype -> (TensorProto dtype, value field number, encoder of the flat values).
_TENSOR_FIELDS = {
    rtorch.float16: (pb.DT_HALF, lambda a: pb.packed_varints(13, _half_bits(a))),
    rtorch.bfloat16: (pb.DT_BFLOAT16, lambda a: pb.packed_varints(13, _bfloat16_bits(a))),
    rtorch.float32: (pb.DT_FLOAT, lambda a: pb.packed_floats(5, a.reshape(-1).tolist())),
    rtorch.float64: (pb.DT_DOUBLE, lambda a: pb.packed_doubles(6, a.reshape(-1).tolist())),
    rtorch.int8: (pb.DT_INT8, lambda a: pb.packed_varints(7, a.reshape(-1).tolist())),
    rtorch.uint8: (pb.DT_UINT8, lambda a: pb.packed_varints(7, a.reshape(-1).tolist())),
    rtorch.int16: (pb.DT_INT16, lambda a: pb.packed_varints(7, a.reshape(-1).tolist())),
    rtorch.int32: (pb.DT_INT32, lambda a: pb.packed_varints(7, a.reshape(-1).tolist())),
    rtorch.int64: (pb.DT_INT64, lambda a: pb.packed_varints(10, a.reshape(-1).tolist())),
    rtorch.bool: (pb.DT_BOOL, lambda a: pb.packed_varints(11, a.reshape(-1).tolist())),
}


def tensor_proto(tag: str, tensor: rtorch.Tensor) -> bytes:
    """The whole tensor as a ``TensorProto`` (tensor plugin), with its shape."""
    if tensor.numel() * tensor.element_size() >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if tensor.dtype not in _TENSOR_FIELDS:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, encode = _TENSOR_FIELDS[tensor.dtype]
    t = pb.tensor(dtype, list(tensor.shape), encode(make_np(tensor)))
    return pb.summary([pb.summary_value(tag, metadata=pb.summary_metadata("tensor"), tensor=t)])


def histogram_raw(
    name: str,
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limits: Sequence[float],
    bucket_counts: Sequence[float],
) -> bytes:
    """A histogram summary from already computed statistics and buckets."""
    histo = pb.histogram(min, max, num, sum, sum_squares, bucket_limits, bucket_counts)
    return pb.summary([pb.summary_value(name, histo=histo)])


def histogram_fields(values: np.ndarray, bins: object, max_bins: int | None = None) -> dict:
    """The ``HistogramProto`` fields of ``values``: ``np.histogram`` counts over
    ``bins``, merged into at most ``max_bins`` groups, trimmed to the buckets between
    the first and last non-empty one, plus one empty bucket on the left (TensorBoard
    stores only right edges, so that bucket carries the leftmost edge)."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        counts = np.pad(counts, (0, (-len(counts)) % group)).reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    # With no value inside the edges PyTorch's search over the cumulative non-empty
    # count lands on (len, 0): one bucket survives if there is one, else an error.
    first, last = (int(nonzero[0]), int(nonzero[-1])) if nonzero.size else (len(counts), 0)
    if first > 0:
        counts = counts[first - 1 : last + 1]
    else:
        counts = np.concatenate([[0], counts[: last + 1]])
    limits = limits[first : last + 2]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "num": len(values),
        "sum": float(values.sum()),
        "sum_squares": float(values.dot(values)),
        "bucket_limit": limits.tolist(),
        "bucket": counts.tolist(),
    }


def histogram(name: str, values: object, bins: object, max_bins: int | None = None) -> bytes:
    """A histogram summary of ``values`` (see ``histogram_fields``)."""
    fields = histogram_fields(make_np(values).astype(float), bins, max_bins)
    return pb.summary([pb.summary_value(name, histo=pb.histogram(**fields))])


def image_pixels(tensor: object, dataformats: str) -> np.ndarray:
    """``tensor`` as ``(H, W, C)`` uint8 pixels: uint8 taken as is, anything else
    seen as [0, 1] and scaled by 255; out-of-range values clipped."""
    hwc = convert_to_hwc(make_np(tensor), dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    return (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def image(tag: str, tensor: object, rescale: float = 1, dataformats: str = "NCHW") -> bytes:
    """An image summary: the pixels of ``tensor`` encoded as PNG (resized by
    ``rescale`` with Pillow's Lanczos filter when it is not 1; the recorded height
    and width stay the original ones, as in PyTorch)."""
    pixels = image_pixels(tensor, dataformats)
    height, width, channels = pixels.shape
    if rescale == 1:
        encoded = encode_png(pixels)
    else:
        from ._boxes import render_image

        encoded = render_image(pixels, rescale)
    img = pb.image(height, width, channels, encoded)
    return pb.summary([pb.summary_value(tag, image=img)])


def image_boxes(
    tag: str,
    tensor_image: object,
    tensor_boxes: object,
    rescale: float = 1,
    dataformats: str = "CHW",
    labels: Sequence[str] | None = None,
) -> bytes:
    """An image summary with bounding boxes drawn on (see ``_boxes.render_image``);
    the recorded height and width stay those before ``rescale``, as in PyTorch."""
    from ._boxes import render_image

    pixels = image_pixels(tensor_image, dataformats)
    height, width, channels = pixels.shape
    encoded = render_image(pixels, rescale, make_np(tensor_boxes), labels)
    img = pb.image(height, width, channels, encoded)
    return pb.summary([pb.summary_value(tag, image=img)])


def video(tag: str, tensor: object, fps: float = 4) -> bytes:
    """An image summary holding the ``(B, T, C, H, W)`` video as an animated GIF
    (values 0..255 for uint8, else 0..1)."""
    from ._video import encode_gif, video_grid

    frames = video_grid(make_np(tensor))
    frames = (frames.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)
    _, height, width, channels = frames.shape
    img = pb.image(height, width, channels, encode_gif(frames, fps))
    return pb.summary([pb.summary_value(tag, image=img)])


def audio(tag: str, tensor: object, sample_rate: int = 44100) -> bytes:
    """An audio summary: the 1-D signal in [-1, 1] as 16-bit mono WAV."""
    signal = make_np(tensor).squeeze()
    if abs(signal).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        signal = signal.clip(-1, 1)
    if signal.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (signal * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    snd = pb.audio(sample_rate, 1, pcm.shape[-1], buffer.getvalue())
    return pb.summary([pb.summary_value(tag, audio=snd)])


def text(tag: str, text: str) -> bytes:
    """A text-plugin summary: one UTF-8 string tensor under ``<tag>/text_summary``."""
    t = pb.tensor(pb.DT_STRING, [1], pb.field_bytes(8, text.encode("utf-8")))
    # The plugin's content, TextPluginData(version=0), serializes to no bytes.
    meta = pb.summary_metadata("text")
    return pb.summary([pb.summary_value(tag + "/text_summary", metadata=meta, tensor=t)])


def custom_scalars(layout: Mapping[str, Mapping[str, Sequence]]) -> bytes:
    """The custom_scalars plugin's layout: ``{category: {chart title: [kind, tags]}}``
    with kind ``"Margin"`` (three tags: value, lower, upper) or anything else for a
    multi-line chart."""
    categories = []
    for category, charts in layout.items():
        encoded = []
        for title, spec in charts.items():
            kind, tags = spec[0], spec[1]
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                encoded.append(pb.margin_chart(title, *tags))
            else:
                encoded.append(pb.multiline_chart(title, tags))
        categories.append((category, encoded))
    t = pb.tensor(pb.DT_STRING, [], pb.field_bytes(8, pb.layout(categories)))
    meta = pb.summary_metadata("custom_scalars")
    return pb.summary([pb.summary_value("custom_scalars__config__", metadata=meta, tensor=t)])


# MeshPluginData.ContentType, in the order the mesh summaries are written.
_MESH_PARTS = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))


def mesh(
    tag: str,
    vertices: object,
    colors: object = None,
    faces: object = None,
    config_dict: dict | None = None,
    display_name: str | None = None,
    description: str | None = None,
) -> bytes:
    """The mesh plugin's summary: one float tensor value per given part (vertices,
    faces, colors; each ``(B, N, 3)``) tagged ``<tag>_VERTEX`` etc., each carrying
    the parts present as a bitmask and the Three.js ``config_dict`` as JSON."""
    json_config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [
        (np.asarray(make_np(t) if not isinstance(t, (list, tuple)) else t), name, kind)
        for t, (name, kind) in zip((vertices, faces, colors), _MESH_PARTS)
        if t is not None
    ]
    components = 0
    for _, _, kind in parts:
        components |= 1 << kind
    values = []
    for array, name, kind in parts:
        if array.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got {list(array.shape)}.")
        meta = pb.summary_metadata(
            "mesh",
            pb.mesh_plugin_data(tag, kind, components, array.shape, json_config),
            display_name=display_name or "",
            description=description or "",
        )
        t = pb.tensor(
            pb.DT_FLOAT, list(array.shape), pb.packed_floats(5, array.reshape(-1).tolist())
        )
        values.append(pb.summary_value(f"{tag}_{name}", metadata=meta, tensor=t))
    return pb.summary(values)


HPARAMS_PLUGIN = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"


def _hparams_summary(tag: str, content: bytes) -> bytes:
    meta = pb.summary_metadata(HPARAMS_PLUGIN, content)
    return pb.summary([pb.summary_value(tag, metadata=meta)])


def hparams(
    hparam_dict: Mapping[str, object] | None = None,
    metric_dict: Mapping[str, object] | None = None,
    hparam_domain_discrete: Mapping[str, list] | None = None,
) -> tuple[bytes, bytes, bytes]:
    """The hparams plugin's three summaries: the experiment (hyperparameter names,
    types and discrete domains, metric tags), the session start (the values) and the
    session end (success)."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if (
            k not in hparam_dict
            or not isinstance(v, list)
            or not all(isinstance(d, type(hparam_dict[k])) for d in v)
        ):
            raise TypeError(
                f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                f"hparam_dict[{k}]."
            )
    values: dict[str, bool | float | str] = {}
    infos = []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # bool is an int, so (as in PyTorch) True/False are logged as the numbers 1/0.
        if isinstance(v, (int, float)):
            values[k] = float(v)
            domain = [float(d) for d in domains[k]] if k in domains else None
            kind = pb.HPARAM_DATA_TYPE_FLOAT64
        elif isinstance(v, str):
            values[k] = v
            domain = list(domains[k]) if k in domains else None
            kind = pb.HPARAM_DATA_TYPE_STRING
        elif isinstance(v, rtorch.Tensor):
            values[k] = float(make_np(v).reshape(-1)[0])
            domain = None
            kind = pb.HPARAM_DATA_TYPE_FLOAT64
        else:
            raise ValueError(  # noqa: TRY004 (PyTorch's class)
                "value should be one of int, float, str, bool, or torch.Tensor"
            )
        discrete = pb.list_value(domain) if domain is not None else None
        infos.append(pb.hparam_info(k, kind, discrete))
    experiment = pb.experiment(infos, [pb.metric_info(k) for k in metric_dict])
    return (
        _hparams_summary(EXPERIMENT_TAG, pb.hparams_plugin_data(experiment=experiment)),
        _hparams_summary(
            SESSION_START_INFO_TAG,
            pb.hparams_plugin_data(session_start_info=pb.session_start_info(values)),
        ),
        _hparams_summary(
            SESSION_END_INFO_TAG,
            pb.hparams_plugin_data(session_end_info=pb.session_end_info(pb.HPARAM_STATUS_SUCCESS)),
        ),
    )


def compute_curve(
    labels: np.ndarray,
    predictions: np.ndarray,
    num_thresholds: int | None = None,
    weights: object = None,
) -> np.ndarray:
    """The ``(6, num_thresholds)`` table TensorBoard's pr_curves plugin reads: true
    and false positives, true and false negatives, precision and recall at each
    threshold ``i / (num_thresholds - 1)``."""
    minimum_count = 1e-7  # keeps 0/0 at 0 instead of NaN
    weights = 1.0 if weights is None else weights
    bucket = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    edges = (0, num_thresholds - 1)
    tp_per_bucket, _ = np.histogram(
        bucket, bins=num_thresholds, range=edges, weights=positive * weights
    )
    fp_per_bucket, _ = np.histogram(
        bucket, bins=num_thresholds, range=edges, weights=(1.0 - positive) * weights
    )
    # Counts at or above each threshold: reversed cumulative sums.
    tp = np.cumsum(tp_per_bucket[::-1])[::-1]
    fp = np.cumsum(fp_per_bucket[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def _pr_curve_summary(tag: str, data: np.ndarray, num_thresholds: int) -> bytes:
    meta = pb.summary_metadata("pr_curves", pb.pr_curve_plugin_data(num_thresholds))
    t = pb.tensor(pb.DT_FLOAT, list(data.shape[:2]), pb.packed_floats(5, data.reshape(-1).tolist()))
    return pb.summary([pb.summary_value(tag, metadata=meta, tensor=t)])


def pr_curve(
    tag: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    num_thresholds: int = 127,
    weights: object = None,
) -> bytes:
    """A pr_curves summary computed from binary labels and predicted probabilities."""
    num_thresholds = min(num_thresholds, 127)  # as PyTorch: the plugin's limit
    data = compute_curve(labels, predictions, num_thresholds, weights)
    return _pr_curve_summary(tag, data, num_thresholds)


def pr_curve_raw(
    tag: str,
    tp: object,
    fp: object,
    tn: object,
    fn: object,
    precision: object,
    recall: object,
    num_thresholds: int = 127,
    weights: object = None,
) -> bytes:
    """A pr_curves summary from precomputed counts, precision and recall
    (``weights`` is unused, as in PyTorch)."""
    num_thresholds = min(num_thresholds, 127)
    data = np.stack([make_np(x) for x in (tp, fp, tn, fn, precision, recall)])
    return _pr_curve_summary(tag, data, num_thresholds)
