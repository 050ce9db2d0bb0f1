"""devtools.screens.pixel_difference on tiny synthetic PNGs: the counts it reports are exact."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

# Pillow is a benchmark dependency, left out of nox's subset like matplotlib.
Image = pytest.importorskip("PIL.Image")

from devtools.screens import pixel_difference  # noqa: E402 - needs Pillow


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank(width: int = 4, height: int = 3) -> Image.Image:
    return Image.new("RGB", (width, height), (255, 255, 255))


def test_identical_images_do_not_differ() -> None:
    result = pixel_difference(png(blank()), png(blank()))
    assert result["same_size"] is True
    assert (result["width"], result["height"]) == (4, 3)
    assert result["differing_pixels"] == 0
    assert result["differing_share"] == 0.0
    assert result["max_channel_delta"] == 0


def test_one_changed_pixel_is_counted_once(tmp_path: Path) -> None:
    changed = blank()
    changed.putpixel((2, 1), (255, 250, 200))  # two channels differ, by 5 and by 55
    diff_path = tmp_path / "diff.png"
    result = pixel_difference(png(blank()), png(changed), diff_path)
    assert result["differing_pixels"] == 1
    assert result["differing_share"] == 1 / 12
    assert result["max_channel_delta"] == 55
    diff = Image.open(diff_path).convert("RGB")
    assert diff.size == (4, 3)
    assert diff.getpixel((2, 1)) == (255, 0, 0)
    assert diff.getpixel((0, 0)) != (255, 0, 0)


def test_alpha_counts_as_a_channel() -> None:
    opaque = Image.new("RGBA", (2, 2), (0, 0, 0, 255))
    clear = opaque.copy()
    clear.putpixel((0, 0), (0, 0, 0, 0))
    result = pixel_difference(png(opaque), png(clear))
    assert result["differing_pixels"] == 1
    assert result["max_channel_delta"] == 255


def test_different_sizes_compare_the_common_area() -> None:
    taller = blank(4, 5)
    taller.putpixel((0, 4), (0, 0, 0))  # outside the common 4x3 area
    result = pixel_difference(png(blank(4, 3)), png(taller))
    assert result["same_size"] is False
    assert (result["width"], result["height"]) == (4, 3)
    assert result["size_a"] == [4, 3] and result["size_b"] == [4, 5]
    assert result["compared"] == "common top-left 4x3"
    assert result["differing_pixels"] == 0
