"""Top-example scans per layer for widgets: run once through a Runner, then kept for browsing."""

from __future__ import annotations

from collections.abc import Callable

from cnnlens.core.layers import ModelLike
from cnnlens.core.progress import Progress
from cnnlens.data._batches import Images, image_count
from cnnlens.stimuli import TopExamples, top_examples
from cnnlens.widgets._runner import Runner


class LayerScans:
    """Top-example scans per layer, run in a `Runner`, then kept for browsing.

    `start(layer)` scans `images` for the layer's top `k` examples (all of them in a dataset of
    fewer) in `runner` and then calls `on_done()`; `get(layer)` is the finished scan or None.
    """

    def __init__(
        self,
        model: ModelLike,
        images: Images,
        runner: Runner,
        on_done: Callable[[], None],
        k: int,
    ) -> None:
        self.model, self.images, self.k = model, images, min(k, image_count(images))
        self.runner, self.on_done = runner, on_done
        self._done: dict[str, TopExamples] = {}

    def get(self, layer: str) -> TopExamples | None:
        """The scan of `layer`, if it has finished."""
        return self._done.get(layer)

    def start(self, layer: str) -> None:
        """Scan for `layer` (in the runner's thread unless it runs in the foreground)."""

        def work(progress: Progress) -> TopExamples:
            return top_examples(self.model, layer, images=self.images, k=self.k, progress=progress)

        def done(result: TopExamples) -> None:
            self._done[layer] = result
            self.on_done()

        self.runner.start(work, done, f"scanning {image_count(self.images)} images for {layer}")
