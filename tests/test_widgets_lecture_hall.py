"""What a class sees (issue 15 §1–2): colour classes in their own colours with a legend, one
signed-map convention (symmetric limits, white = 0) with a key under every map view, a size
setting that changes the pictures' pixels, control rows that wrap, legible graph labels, field
frames visible on every shape-world colour."""

import io

import numpy as np
import pytest
import torch
from ipywidgets import HBox
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from cnnlens.attribution.contributions import ContributionGraph
from cnnlens.data import ShapeWorld
from cnnlens.data.shapeworld import BACKGROUND_TONES, COLOR_RGB, COLORS
from cnnlens.plot import signed_scale
from cnnlens.plot.contributions import NEGATIVE, POSITIVE, _contribution_figure
from cnnlens.plot.dissection import _masked_picture
from cnnlens.plot.embedding import draw_scatter
from cnnlens.plot.stimuli import boxed
from cnnlens.widgets import (
    AttributionExplorer,
    BackpropExplorer,
    EmbeddingExplorer,
    FeatureExplorer,
    FeatureVisualizer,
    FilterEvolution,
    InversionExplorer,
    NeighboursExplorer,
    StimuliExplorer,
    set_default_size,
)
from cnnlens.widgets._base import WRAP, default_size


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=60, seed=3)


@pytest.fixture
def default_192():
    yield
    set_default_size(192)


def hboxes(widget):
    if isinstance(widget, HBox):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from hboxes(child)


def test_signed_scale_is_symmetric_and_zero_is_white():
    values = np.array([[-0.5, 0.0], [0.25, 2.0]])
    scale = signed_scale(values)
    assert (scale.low, scale.high) == (-2.0, 2.0)
    assert scale.signed
    assert np.array_equal(scale.rgb(np.zeros(1)), np.ones((1, 3), np.float32))
    red, blue = scale.rgb(np.array([2.0, -2.0]))
    assert red[0] > red[2] and blue[2] > blue[0]  # positive red, negative blue


def test_every_signed_widget_map_has_a_symmetric_key(shapes):
    explorer = AttributionExplorer(shapes, method="occlusion", background=False)
    current = explorer.current.numpy()
    key = explorer.map_key.scale
    bound = float(np.abs(current).max())
    assert key is not None and key.signed
    assert key.low == pytest.approx(-bound) and key.high == pytest.approx(bound)
    assert "0</span>" in explorer.map_key.value  # the bar names its zero
    # the map's pixels are the key's colours: a zero of the map is white on screen
    shown = decode(explorer.map_view.value)
    scale = shown.shape[0] // current.shape[0]
    expected = key.rgb(current).repeat(scale, 0).repeat(scale, 1)
    assert np.abs(shown - expected).max() <= 1 / 255 + 1e-6


def test_every_map_view_has_a_key(shapes, world):
    explorer = AttributionExplorer(shapes, background=False)
    explorer.compare.value = ("saliency", "guided backprop")
    assert explorer.map_key.scale is not None and explorer.map_key.scale.low == 0  # Grad-CAM
    keys = explorer._compare_keys
    assert keys["saliency"].scale is not None and "mid-gray = 0" in keys["guided backprop"].value
    features = FeatureExplorer(shapes, layer="relu2")
    assert features.unit_key.scale is not None and features.maps_key.scale is not None
    assert "gray = 0" in features.filter_key.value
    assert (
        "gray = 0"
        in BackpropExplorer(shapes, layer="relu3", images=world, background=False).key.value
    )
    stimuli = StimuliExplorer(shapes, images=world, layer="relu3", background=False)
    stimuli.scan()
    assert "receptive field" in stimuli.key.value
    assert "gray = 0" in FilterEvolution().key.value


def test_a_pre_relu_map_is_drawn_on_the_signed_scale(shapes):
    explorer = FeatureExplorer(shapes, layer="conv2")  # before its ReLU: negative values
    assert explorer.current.maps.min() < 0
    assert explorer.maps_key.scale.signed and explorer.maps_key.scale.low < 0


def test_colour_classes_are_drawn_in_their_own_colours_with_a_legend():
    coords = torch.randn(60, 2)
    labels = torch.arange(60) % len(COLORS)
    axes = Figure().add_subplot()
    draw_scatter(axes, coords, labels, COLORS)
    for collection, name in zip(axes.collections, COLORS, strict=True):
        assert np.allclose(collection.get_facecolor()[0][:3], COLOR_RGB[name])
    assert [t.get_text() for t in axes.get_legend().get_texts()] == list(COLORS)


def test_the_embedding_map_shows_each_colour_class_in_its_colour(shapes, world):
    explorer = EmbeddingExplorer(shapes, images=world, background=False)
    explorer.samples.value = 60
    explorer.perplexity.value = 5
    explorer.color_by.value = "color"
    explorer.run()
    pixels = decode(explorer.view.value).reshape(-1, 3)
    shown = set(explorer._shown[1][:, 1].tolist())
    for index in shown:  # each class present, drawn (alpha 0.8 over white) in its own RGB
        colour = 0.8 * np.array(COLOR_RGB[COLORS[index]]) + 0.2
        assert np.abs(pixels - colour).max(axis=1).min() < 0.03, COLORS[index]


def test_the_embedding_map_is_rendered_at_the_size_it_is_shown(shapes, world):
    explorer = EmbeddingExplorer(shapes, images=world, background=False, size=150)
    explorer.samples.value = 60
    explorer.perplexity.value = 5
    explorer.run()
    width = decode(explorer.view.value).shape[1]
    assert explorer.view.layout.width == f"{width}px"
    assert width == explorer.map_px


def test_a_size_setting_changes_the_pictures_pixels(shapes, default_192):
    small = FeatureExplorer(shapes, size=128)
    large = FeatureExplorer(shapes, size=320)
    assert decode(small.input_view.value).shape[:2] == (128, 128)
    assert decode(large.input_view.value).shape[:2] == (320, 320)
    assert large.input_view.layout.width == "320px"
    set_default_size(256)
    assert default_size() == 256
    assert decode(FeatureExplorer(shapes).input_view.value).shape[1] == 256
    attribution = AttributionExplorer(shapes, background=False)
    assert decode(attribution.map_view.value).shape[1] == 256


def test_a_bad_size_is_one_line(shapes):
    from cnnlens import CnnlensError

    with pytest.raises(CnnlensError, match="outside"):
        FeatureExplorer(shapes, size=5)
    with pytest.raises(CnnlensError, match="whole number"):
        set_default_size(1.5)


def test_every_widget_row_wraps(shapes, world):
    widgets = [
        FeatureExplorer(shapes),
        FeatureVisualizer(shapes, background=False),
        AttributionExplorer(shapes, background=False),
        BackpropExplorer(shapes, images=world, background=False),
        InversionExplorer(shapes, background=False),
        StimuliExplorer(shapes, images=world, background=False),
        EmbeddingExplorer(shapes, images=world, background=False),
        NeighboursExplorer(shapes, images=world),
    ]
    for widget in widgets:
        rows = list(hboxes(widget))
        assert rows, type(widget).__name__
        for row in rows:
            assert row.layout.flex_flow == WRAP, type(widget).__name__
    toggles = widgets[1].controls
    assert toggles["leaky"].layout.width == "auto" and not toggles["leaky"].indent


def test_a_long_button_label_is_not_cut_off(shapes, world):
    button = BackpropExplorer(shapes, images=world, background=False).runner.run_button
    assert button.description == "Scan for top examples"
    assert button.layout.width == "auto"


def test_graph_labels_fit_inside_their_circles_and_the_colours_have_a_legend():
    graph = ContributionGraph(
        layers=("relu3", "relu4_1"),
        nodes=({12: 3.456, 101: 0.25, 7: 10.5}, {40: 1.5, 99: 12.25}),
        edges=((0, 12, 40, 0.8), (0, 101, 99, -0.4), (0, 7, 40, 0.1)),
    )
    figure = _contribution_figure(graph)
    renderer = FigureCanvasAgg(figure).get_renderer()
    axes = figure.axes[0]
    diameter = np.sqrt(axes.collections[0].get_sizes()[0]) * figure.dpi / 72
    labels = [t for t in axes.texts if "\n" in t.get_text()]
    assert len(labels) == 5
    for text in labels:
        box = text.get_window_extent(renderer)
        assert np.hypot(box.width, box.height) <= diameter, text.get_text()
        assert text.get_fontsize() >= 7
    legend = axes.get_legend()
    colours = [to_rgb(line.get_color()) for line in legend.get_lines()]
    assert colours == [to_rgb(POSITIVE), to_rgb(NEGATIVE)]


@pytest.mark.parametrize("colour", [*COLOR_RGB.values(), *BACKGROUND_TONES])
def test_a_field_frame_stands_out_on_every_shape_world_colour(colour):
    image = np.broadcast_to(np.array(colour, np.float32), (64, 64, 3)).copy()
    framed = boxed(image, (10, 10, 40, 40))
    frame = np.abs(framed - image).sum(axis=-1) > 0
    assert frame.any()
    contrast = np.linalg.norm(framed[frame] - np.array(colour), axis=-1)
    assert contrast.max() >= 0.8


@pytest.mark.parametrize("colour", [*COLOR_RGB.values(), *BACKGROUND_TONES])
def test_a_dissection_mask_outline_stands_out_on_every_shape_world_colour(colour):
    image = torch.tensor(colour, dtype=torch.float32)[:, None, None].expand(3, 64, 64)
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[2:6, 2:6] = True
    picture = _masked_picture(image, mask, dim=1.0)  # no dimming: only the outline differs
    outline = np.abs(picture - np.array(colour)).sum(axis=-1) > 1e-6
    assert outline.any()
    contrast = np.linalg.norm(picture[outline] - np.array(colour), axis=-1)
    assert contrast.max() >= 0.8
