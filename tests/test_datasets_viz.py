"""Data sets and the slider helper."""

import re

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from ntkbook import viz
from ntkbook.datasets import (
    circles,
    digits_pair,
    flip_labels,
    moons,
    random_labels,
    regression_1d,
    two_point,
    unit_circle,
)


def test_datasets_shapes_and_determinism():
    x, y = two_point(np.pi / 2)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
    np.testing.assert_allclose(x[0] @ x[1], 0.0, atol=1e-15)
    g, xc = unit_circle(8)
    assert xc.shape == (8, 2) and g[1] == pytest.approx(np.pi / 4)
    a, b = regression_1d(30, seed=2), regression_1d(30, seed=2)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].shape == (30, 1) and np.all(np.diff(a[0][:, 0]) >= 0)
    for maker in (circles, moons):
        x, y = maker(50)
        assert x.shape == (50, 2) and set(np.unique(y)) == {-1.0, 1.0}
    x, y = digits_pair(3, 8, n=100)
    assert x.shape == (100, 64) and set(np.unique(y)) == {-1.0, 1.0}
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)


def test_label_noise():
    y = np.ones(40)
    assert np.sum(flip_labels(y, 0.25, key=1) < 0) == 10
    np.testing.assert_array_equal(flip_labels(y, 0.0), y)
    np.testing.assert_array_equal(flip_labels(y, 1.0), -y)
    r = random_labels(2000, key=3)
    assert set(np.unique(r)) == {-1.0, 1.0} and abs(r.mean()) < 0.1
    with pytest.raises(ValueError, match="p must"):
        flip_labels(y, 1.5)


def _plot(v):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, v])
    return fig


def test_static_slider_html():
    html = viz.slider(_plot, [1, 2, 3], "slope", live=False).data
    assert html.count("<img") == 3
    assert re.search(r'<input type="range" min="0" max="2"', html)
    assert 'id="ntkbook-slider-' in html and "<script>" in html
    assert html.count("display:block") == 1
    assert plt.get_fignums() == []  # every frame was closed


def test_live_slider_swaps_prerendered_frames():
    calls = []

    def plot(v):
        calls.append(v)
        return _plot(v)

    box = viz.slider(plot, [1, 2, 3], "slope", live=True)
    control, image = box.children
    assert isinstance(control, ipywidgets.SelectionSlider) and control.index == 0
    assert calls == [1, 2, 3] and plt.get_fignums() == []
    first = image.value
    control.index = 2  # an update draws nothing: it shows the prerendered frame
    assert calls == [1, 2, 3] and image.value != first and image.value[:4] == b"\x89PNG"


def test_default_slider_is_one_output_with_widget_and_html():
    calls = []

    def plot(v):
        calls.append(v)
        return _plot(v)

    s = viz.slider(plot, [1, 2, 3], "slope", initial=1)
    bundle = s._repr_mimebundle_()
    assert calls == [1, 2, 3]  # frames drawn once, shared by both views
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("<img") == 3 and html.count("display:block") == 1
    assert "VBox(" not in bundle["text/plain"]
    control, image = s.widget().children
    assert control.index == 1 and image.value == s.pngs[1]
    # frames are shown at their own size (sharp): a 2 x 1.5 in figure at 100 dpi
    assert image.value[16:24] == (200).to_bytes(4, "big") + (150).to_bytes(4, "big")
    assert s._repr_mimebundle_()["text/html"] == html and calls == [1, 2, 3]


def test_slider_rejects_bad_input():
    with pytest.raises(ValueError, match="values"):
        viz.slider(_plot, [], "x")
    with pytest.raises(ValueError, match="initial"):
        viz.slider(_plot, [1], "x", initial=3)
    with pytest.raises(ValueError, match="plot"):
        viz.slider(None, [1], "x")
    with pytest.raises(ValueError, match="live"):
        viz.slider(_plot, [1], "x", live="yes")
    with pytest.raises(ValueError, match="dpi"):
        viz.slider(_plot, [1], "x", dpi=0)
