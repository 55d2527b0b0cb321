"""``SummaryWriter``: log scalars, histograms, images, text, audio, hyperparameters and
PR curves to TensorBoard event files, as ``torch.utils.tensorboard.writer``.

The files are written by rtorch itself (TFRecord framing, CRC-32C, protobuf
encoding, PNG), so neither ``tensorboard`` nor ``protobuf`` is needed to log; only
viewing the logs needs TensorBoard.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import TYPE_CHECKING

from . import _embedding
from . import _proto as pb
from . import summary as summaries
from ._convert import figure_to_image, make_np
from ._event_file_writer import FILE_VERSION, EventFileWriter

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """Writes ``Event`` / ``Summary`` protobufs to one event file in ``log_dir``
    (PyTorch's ``FileWriter``).  They are given serialized (``bytes``, as the
    builders of ``rtorch.utils.tensorboard.summary`` return them) or as protobuf
    objects with ``SerializeToString`` (e.g. tensorboard's own ``Event``)."""

    def __init__(
        self, log_dir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""
    ) -> None:
        log_dir = str(log_dir)  # a pathlib.Path is welcome too
        self.event_writer = EventFileWriter(log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        """The directory the event file is written to."""
        return self.event_writer.get_logdir()

    def add_event(
        self, event: bytes | object, step: int | None = None, walltime: float | None = None
    ) -> None:
        """Append one ``Event``, stamped with ``walltime`` and ``step`` when given.

        A protobuf object is stamped with the current time when ``walltime`` is
        None, as in PyTorch; serialized bytes keep the time they carry."""
        if isinstance(event, (bytes, bytearray)):
            # Protobuf parsers keep the last occurrence of a scalar field, so the
            # stamps can be appended to the serialized message.
            stamps = b""
            if walltime is not None:
                stamps += pb.field_double(1, walltime)
            if step is not None:
                stamps += pb.field_varint(2, int(step))
            self.event_writer.add_event(bytes(event) + stamps)
            return
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event.SerializeToString())

    def add_summary(
        self, summary: bytes | object, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Wrap a ``Summary`` (bytes or a protobuf object) in an ``Event`` stamped
        with ``walltime`` (default: now) and ``global_step`` (default: 0) and
        append it."""
        if not isinstance(summary, (bytes, bytearray)):
            summary = summary.SerializeToString()
        wall_time = time.time() if walltime is None else float(walltime)
        step = 0 if global_step is None else int(global_step)
        self.event_writer.add_event(pb.event(wall_time, step, summary=bytes(summary)))

    def flush(self) -> None:
        """Write the queued events to disk."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.event_writer.close()


class SummaryWriter:
    """Writes entries directly to event files in ``log_dir`` to be consumed by
    TensorBoard.

    Args:
        log_dir: directory of the event files; default ``runs/<Mon>DD_HH-MM-SS_<host>
            <comment>``.
        comment: suffix of the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: when resuming a crashed run, events of steps >= ``purge_step``
            already in ``log_dir`` are hidden by TensorBoard.
        max_queue: events kept in memory before they are written out.
        flush_secs: seconds after which queued events are written out.
        filename_suffix: suffix of the event file names.

    Examples::

        writer = SummaryWriter("runs/exp1")
        for step in range(100):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.close()
    """

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ) -> None:
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        # Created here and again on first use after close(), as in PyTorch.
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()
        self.default_bins = summaries.default_bins()
        self._embeddings: list[_embedding.EmbeddingInfo] = []

    def _get_file_writer(self) -> FileWriter:
        """The main FileWriter, reopened (as a new file) after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                # A second file_version event at purge_step, then a session START:
                # TensorBoard drops older events with step >= purge_step.
                step = int(self.purge_step)
                now = time.time()
                self.file_writer.add_event(pb.event(now, step, file_version=FILE_VERSION))
                self.file_writer.add_event(pb.event(now, step, session_log_status=pb.SESSION_START))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        """Return the directory where event files will be written."""
        return self.log_dir

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Add a set of hyperparameters and their metrics for the HParams dashboard.

        Written to a sub-directory ``run_name`` (default: the current time) of
        ``log_dir``: the experiment, session-start and session-end summaries, then
        each metric as a scalar.

        Args:
            hparam_dict: hyperparameter name -> ``bool``, ``str``, ``float``, ``int``,
                a one-element tensor or ``None`` (skipped).
            metric_dict: metric name -> value.
            hparam_domain_discrete: name -> list of every value it can take.
            run_name: name of the sub-directory.
            global_step: step of the events.
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = summaries.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            for s in (exp, ssi, sei):
                w_hp.file_writer.add_summary(s, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_scalar(
        self,
        tag: str,
        scalar_value: object,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Add one scalar (a number, or a one-element tensor / array).

        Args:
            tag: data identifier.
            scalar_value: value to save.
            global_step: global step value to record.
            walltime: seconds since the epoch to record instead of ``time.time()``.
            new_style: store as a scalars-plugin tensor instead of ``simple_value``.
            double_precision: with ``new_style``, keep float64 instead of float32.
        """
        summary = summaries.scalar(
            tag, scalar_value, new_style=new_style, double_precision=double_precision
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add several scalars drawn in one chart: each ``tag`` goes to its own run,
        the sub-directory ``<log_dir>/<main_tag with / as _>_<tag>``, under
        ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        assert self.all_writers is not None
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = fw
            fw.add_summary(summaries.scalar(main_tag, scalar_value), global_step, walltime)

    def add_tensor(
        self,
        tag: str,
        tensor: object,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a whole tensor (as a ``TensorProto`` with its shape and dtype)."""
        summary = summaries.tensor_proto(tag, tensor)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_histogram(
        self,
        tag: str,
        values: object,
        global_step: int | None = None,
        bins: object = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Add a histogram of ``values``.

        Args:
            tag: data identifier.
            values: tensor or array of values (any shape).
            global_step: global step value to record.
            bins: ``'tensorflow'`` (TensorBoard's exponential edges) or anything
                ``numpy.histogram`` takes (``'auto'``, ``'fd'``, a count, edges).
            walltime: seconds since the epoch to record instead of ``time.time()``.
            max_bins: merge adjacent buckets down to at most this many.
        """
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        summary = summaries.histogram(tag, values, bins, max_bins=max_bins)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: int,
        sum: float,
        sum_squares: float,
        bucket_limits: object,
        bucket_counts: object,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a histogram from precomputed statistics; ``bucket_limits`` are the
        buckets' right edges, one per entry of ``bucket_counts``."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        summary = summaries.histogram_raw(
            tag,
            min,
            max,
            num,
            sum,
            sum_squares,
            _flat_list(bucket_limits),
            _flat_list(bucket_counts),
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: object,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Add an image (PNG).  uint8 values are taken as 0..255, anything else as
        0..1; ``dataformats`` gives the layout: ``CHW`` (default), ``HWC``, ``HW``,
        ... with 1, 3 or 4 channels."""
        summary = summaries.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: object,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Add a batch of images (default ``NCHW``, 1 or 3 channels) tiled into one
        grid image of at most 8 columns."""
        summary = summaries.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: object,
        global_step: int | None = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """Render a matplotlib figure (or a list of them) and add it as an image.
        Needs matplotlib."""
        # A list of figures renders as a batch of images.
        dataformats = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(
            tag, figure_to_image(figure, close), global_step, walltime, dataformats=dataformats
        )

    def add_audio(
        self,
        tag: str,
        snd_tensor: object,
        global_step: int | None = None,
        sample_rate: int = 44100,
        walltime: float | None = None,
    ) -> None:
        """Add a mono sound (values in [-1, 1], shape ``(1, L)`` or ``(L,)``) as WAV."""
        summary = summaries.audio(tag, snd_tensor, sample_rate=sample_rate)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a text (markdown) entry under ``<tag>/text_summary``."""
        self._get_file_writer().add_summary(summaries.text(tag, text_string), global_step, walltime)

    def add_pr_curve(
        self,
        tag: str,
        labels: object,
        predictions: object,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: object = None,
        walltime: float | None = None,
    ) -> None:
        """Add a precision-recall curve from binary ``labels`` and predicted
        probabilities in [0, 1]."""
        labels, predictions = make_np(labels), make_np(predictions)
        summary = summaries.pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: object,
        false_positive_counts: object,
        true_negative_counts: object,
        false_negative_counts: object,
        precision: object,
        recall: object,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: object = None,
        walltime: float | None = None,
    ) -> None:
        """Add a precision-recall curve from precomputed counts, precision and recall."""
        summary = summaries.pr_curve_raw(
            tag,
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
            num_thresholds,
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_graph(
        self,
        model: object,
        input_to_model: object = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Not supported: drawing the graph needs ``torch.jit.trace``, and rtorch has no
        tracer."""
        raise NotImplementedError(
            "SummaryWriter.add_graph is not supported by rtorch: it needs a traced graph "
            "(torch.jit.trace), and rtorch has no tracer."
        )

    def add_onnx_graph(self, prototxt: str) -> None:
        """Not supported: rtorch does not read ONNX models."""
        raise NotImplementedError("SummaryWriter.add_onnx_graph is not supported by rtorch.")

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: object,
        box_tensor: object,
        global_step: int | None = None,
        walltime: float | None = None,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: list | str | None = None,
    ) -> None:
        """Add an image with bounding boxes drawn on it (needs Pillow).

        Args:
            tag: data identifier.
            img_tensor: the image, laid out as ``dataformats`` (default ``CHW``).
            box_tensor: ``(N, 4)`` boxes, rows ``xmin, ymin, xmax, ymax`` in pixels.
            global_step: global step value to record.
            walltime: seconds since the epoch to record instead of ``time.time()``.
            rescale: scale factor of the stored image.
            dataformats: layout of ``img_tensor``.
            labels: one label per box (ignored unless there are exactly N).
        """
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        summary = summaries.image_boxes(
            tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats, labels=labels
        )
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_video(
        self,
        tag: str,
        vid_tensor: object,
        global_step: int | None = None,
        fps: float = 4,
        walltime: float | None = None,
    ) -> None:
        """Add a video as an animated GIF (encoded with Pillow, where PyTorch needs
        moviepy).

        Args:
            tag: data identifier.
            vid_tensor: ``(N, T, C, H, W)`` videos, values 0..255 for uint8 and 0..1
                otherwise; the N videos are tiled into one grid per frame.
            global_step: global step value to record.
            fps: frames per second.
            walltime: seconds since the epoch to record instead of ``time.time()``.
        """
        summary = summaries.video(tag, vid_tensor, fps)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_embedding(
        self,
        mat: object,
        metadata: list | None = None,
        label_img: object = None,
        global_step: int | None = None,
        tag: str = "default",
        metadata_header: list | None = None,
    ) -> None:
        """Add embedding projector data: ``mat`` ``(N, D)`` (one row per data point),
        optional labels ``metadata`` (one per point; with ``metadata_header`` a list
        of columns each) and images ``label_img`` ``(N, C, H, W)``, written to
        ``<log_dir>/<global_step:05d>/<tag>/`` and listed in
        ``projector_config.pbtxt``."""
        mat = make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{_embedding.encode_tag(tag)}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(save_path):
            if not os.path.isdir(save_path):
                raise NotADirectoryError(
                    f"Path: `{save_path}` exists, but is a file. Cannot proceed."
                )
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _embedding.write_metadata(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            _embedding.write_sprite(label_img, save_path)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        _embedding.write_tensors(mat, save_path)
        info = _embedding.EmbeddingInfo(
            tensor_name=f"{tag}:{str(global_step).zfill(5)}",
            tensor_path=f"{subdir}/tensors.tsv",
            metadata_path=f"{subdir}/metadata.tsv" if metadata is not None else None,
            sprite_path=f"{subdir}/sprite.png" if label_img is not None else None,
            sprite_dim=(int(label_img.shape[3]), int(label_img.shape[2]))
            if label_img is not None
            else None,
        )
        # The config lists every embedding this writer added, rewritten each time.
        self._embeddings.append(info)
        config = os.path.join(self._get_file_writer().get_logdir(), "projector_config.pbtxt")
        with open(config, "w", encoding="utf-8") as f:
            f.write(_embedding.projector_config(self._embeddings))

    def add_mesh(
        self,
        tag: str,
        vertices: object,
        colors: object = None,
        faces: object = None,
        config_dict: dict | None = None,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a mesh or 3D point cloud for the Three.js-based mesh dashboard.

        Args:
            tag: data identifier.
            vertices: ``(B, N, 3)`` vertex coordinates.
            colors: ``(B, N, 3)`` colors per vertex (0..255 for uint8, else 0..1).
            faces: ``(B, F, 3)`` vertex indices of each triangle.
            config_dict: Three.js class names and their configuration.
            global_step: global step value to record.
            walltime: seconds since the epoch to record instead of ``time.time()``.
        """
        summary = summaries.mesh(tag, vertices, colors, faces, config_dict)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_custom_scalars(self, layout: dict) -> None:
        """Group scalar tags into charts of the Custom Scalars dashboard.

        Args:
            layout: ``{category: {chart title: [kind, tags]}}``, kind ``"Multiline"``
                (any number of tags) or ``"Margin"`` (three tags: value, lower,
                upper), e.g. ``{"Taiwan": {"twse": ["Multiline", ["twse/0050",
                "twse/2330"]]}}``.
        """
        self._get_file_writer().add_summary(summaries.custom_scalars(layout))

    def add_custom_scalars_multilinechart(
        self, tags: list, category: str = "default", title: str = "untitled"
    ) -> None:
        """One multi-line chart of ``tags`` (see ``add_custom_scalars``)."""
        layout = {category: {title: ["Multiline", tags]}}
        self._get_file_writer().add_summary(summaries.custom_scalars(layout))

    def add_custom_scalars_marginchart(
        self, tags: list, category: str = "default", title: str = "untitled"
    ) -> None:
        """One margin chart of three tags: value, lower and upper bound."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        layout = {category: {title: ["Margin", tags]}}
        self._get_file_writer().add_summary(summaries.custom_scalars(layout))

    def flush(self) -> None:
        """Write every pending event of every file to disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file; a later ``add_*`` opens a new file."""
        if self.all_writers is None:
            return  # closing twice is fine
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc_val: object, exc_tb: object) -> None:
        self.close()


def _flat_list(values: object) -> list:
    """A list as given, anything else (tensor, array) flattened into one."""
    return values if isinstance(values, list) else make_np(values).reshape(-1).tolist()
