"""rtorch.vision.utils: make_grid layout against a per-image numpy reference, save_image."""

import io

import numpy as np
import pytest
from PIL import Image

import rtorch
from rtorch.vision.utils import make_grid, save_image


def grid_reference(batch: np.ndarray, nrow: int, padding: int, pad_value: float) -> np.ndarray:
    """torchvision's layout, one image at a time: row-major cells of (H + p) x (W + p) with
    the padding above and left of each image, plus a final band at the bottom and right."""
    n, c, h, w = batch.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value)
    for k in range(n):
        y, x = divmod(k, cols)
        top, left = y * (h + padding) + padding, x * (w + padding) + padding
        out[:, top : top + h, left : left + w] = batch[k]
    return out.astype(batch.dtype)


@pytest.mark.parametrize("n,nrow,padding", [(5, 2, 1), (8, 8, 2), (3, 5, 0), (7, 3, 3)])
def test_make_grid_layout(n, nrow, padding):
    batch = np.random.default_rng(n).random((n, 3, 4, 6)).astype(np.float32)
    out = make_grid(rtorch.from_numpy(batch), nrow=nrow, padding=padding, pad_value=0.5)
    np.testing.assert_array_equal(out.numpy(), grid_reference(batch, nrow, padding, 0.5))


def test_make_grid_channels_lists_and_single_images():
    gray = rtorch.rand(4, 1, 3, 3)
    out = make_grid(gray, nrow=2, padding=1)
    assert tuple(out.shape) == (3, 9, 9)  # one channel repeated to three
    assert rtorch.equal(out[0], out[2])
    listed = make_grid([gray[i] for i in range(4)], nrow=2, padding=1)
    assert rtorch.equal(listed, out)
    single = rtorch.rand(1, 3, 5, 5)
    assert rtorch.equal(make_grid(single), single[0])  # one image: returned as is
    assert tuple(make_grid(rtorch.rand(5, 5)).shape) == (3, 5, 5)
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="got a list containing"):
        make_grid([rtorch.rand(3, 2, 2), 1])


def test_make_grid_normalize():
    batch = rtorch.tensor([[[[0.0, 2.0]]], [[[4.0, 8.0]]]])
    whole = make_grid(batch, normalize=True, padding=0)
    np.testing.assert_allclose(whole.numpy()[0], [[0.0, 0.25, 0.5, 1.0]], rtol=1e-6)
    each = make_grid(batch, normalize=True, scale_each=True, padding=0)
    np.testing.assert_allclose(each.numpy()[0], [[0.0, 1.0, 0.0, 1.0]], rtol=1e-6)
    ranged = make_grid(batch, normalize=True, value_range=(0.0, 4.0), padding=0)
    np.testing.assert_allclose(ranged.numpy()[0], [[0.0, 0.5, 1.0, 1.0]], rtol=1e-6)
    assert batch[1, 0, 0, 1].item() == 8.0  # the input is not modified
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(batch, normalize=True, value_range=[0, 1])


def test_save_image_rounds_to_uint8(tmp_path):
    x = rtorch.tensor([[[0.0, 0.5, 1.0, 0.2]]]).expand(3, 1, 4)
    path = tmp_path / "img.png"
    save_image(x, str(path))
    pixels = np.asarray(Image.open(path))
    # mul(255) + 0.5, clamped, truncated: 0.5 -> 128, 0.2 -> 51.
    np.testing.assert_array_equal(pixels[0, :, 0], [0, 128, 255, 51])
    buffer = io.BytesIO()
    save_image(rtorch.rand(4, 3, 2, 2), buffer, format="PNG", nrow=2, padding=1)
    assert Image.open(io.BytesIO(buffer.getvalue())).size == (7, 7)
