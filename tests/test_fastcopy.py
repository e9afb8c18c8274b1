"""The render's fast working copy: same values as the user's network, weights shared, BatchNorm
folded only where nobody reads the convolution, and the user's network left exactly as it was."""

import threading

import torch
from torch import nn

import cnnlens
from cnnlens.attribution import saliency
from cnnlens.attribution.sanity import reinitialized
from cnnlens.core._layout import input_layout
from cnnlens.core.capture import capture
from cnnlens.featurevis import render
from cnnlens.featurevis._fastcopy import _ChannelSubset, fast_copy, graph_facts
from cnnlens.inversion import invert

EXAMPLE = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(9))


def snapshot(net: nn.Module) -> dict:
    return {
        "state": {k: v.clone() for k, v in net.state_dict().items()},
        "training": [m.training for m in net.modules()],
        "modules": [type(m) for m in net.modules()],
        "strides": [p.stride() for p in net.parameters()],
        "requires_grad": [p.requires_grad for p in net.parameters()],
    }


def same(a: dict, b: dict) -> bool:
    state_same = a["state"].keys() == b["state"].keys() and all(
        torch.equal(a["state"][k], b["state"][k]) for k in a["state"]
    )
    return state_same and all(
        a[k] == b[k] for k in ("training", "modules", "strides", "requires_grad")
    )


def test_shape_net_copy_computes_what_the_network_computes():
    model = cnnlens.load("shapes")
    model.net.train()  # the copy is in eval mode whatever the user's network is in
    before = snapshot(model.net)
    working, layout = fast_copy(model.net, EXAMPLE)
    assert same(before, snapshot(model.net))
    assert layout == torch.channels_last
    assert isinstance(working.conv4_2, nn.Identity) and isinstance(working.bn4_2, nn.Conv2d)
    assert working.fc.weight.data_ptr() == model.net.fc.weight.data_ptr()  # shared storage
    assert not working.fc.weight.requires_grad and model.net.fc.weight.requires_grad
    images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ours = capture(working, images.contiguous(memory_format=layout), ["bn2", "bn4_2", "fc"])
    theirs = capture(model.net, images, ["bn2", "bn4_2", "fc"])
    for path in ("bn2", "bn4_2", "fc"):
        assert torch.allclose(ours[path], theirs[path], atol=1e-5, rtol=1e-5)


def test_a_read_convolution_keeps_its_own_output():
    net = cnnlens.load("shapes").net
    working, _ = fast_copy(net, EXAMPLE, keep=["conv3"])
    assert isinstance(working.conv3, nn.Conv2d) and isinstance(working.bn3, nn.BatchNorm2d)
    assert isinstance(working.bn2, nn.Conv2d)  # the others are still folded
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(
        capture(working, images, "conv3")["conv3"],
        capture(net, images, "conv3")["conv3"],
        atol=1e-5,
    )


def test_branching_network_keeps_its_values():
    net = cnnlens.load("resnet18", pretrained=False).net.eval()
    before = snapshot(net)
    working, layout = fast_copy(net, EXAMPLE)
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = working(images.contiguous(memory_format=layout)), net(images)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4)
    assert sum(isinstance(m, nn.Identity) for m in working.modules()) == 20  # every conv+BN pair
    assert same(before, snapshot(net))


class ViewNet(nn.Module):
    """Flattens with `.view`, which a channels-last tensor refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 62 * 62, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).view(x.shape[0], -1))


class DataDependent(nn.Module):
    """Control flow on a value (torch.fx cannot trace it) and a conv read twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(3, 4, 3)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        z = self.conv2(x)
        return (y if y.mean() > 0 else -y) + self.bn2(z) + z


def test_inputs_go_channels_last_only_to_networks_that_run_them():
    assert input_layout(cnnlens.load("shapes").net, EXAMPLE) == torch.channels_last
    assert input_layout(ViewNet().eval(), EXAMPLE) == torch.contiguous_format  # a .view flatten


def test_views_keep_the_default_layout_and_control_flow_is_no_obstacle():
    net = ViewNet().eval()
    working, layout = fast_copy(net, EXAMPLE)
    assert layout == torch.contiguous_format and working is not net
    assert isinstance(working.bn, nn.Conv2d)  # folded all the same
    with torch.no_grad():
        assert torch.allclose(working(EXAMPLE), net(EXAMPLE), atol=1e-5)
    branching = DataDependent().eval()
    working, layout = fast_copy(branching, EXAMPLE)
    assert layout == torch.channels_last
    assert isinstance(working.bn, nn.Conv2d) and isinstance(working.conv, nn.Identity)
    assert isinstance(working.bn2, nn.BatchNorm2d)  # conv2's output is read twice: not folded
    x = EXAMPLE.contiguous(memory_format=layout)
    with torch.no_grad():
        assert torch.allclose(working(x), branching(EXAMPLE), atol=1e-5)


def test_a_model_that_cannot_run_the_example_is_used_as_it_is():
    net = ViewNet()
    working, layout = fast_copy(net, torch.rand(1, 3, 32, 32))  # fc expects 64 px
    assert layout == torch.contiguous_format and isinstance(working.bn, nn.BatchNorm2d)


def test_a_channel_subset_computes_those_channels_and_zeros_elsewhere():
    net = cnnlens.load("shapes").net
    working, layout = fast_copy(net, EXAMPLE, only={"bn4_2": {3, 7}})
    assert isinstance(working.bn4_2, _ChannelSubset) and working.bn4_2.part.out_channels == 2
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    ours = capture(working, images.contiguous(memory_format=layout), "bn4_2")["bn4_2"]
    theirs = capture(net, images, "bn4_2")["bn4_2"]
    assert torch.allclose(ours[:, [3, 7]], theirs[:, [3, 7]], atol=1e-5, rtol=1e-5)
    assert ours[:, [0, 1, 2, 4, 5, 6]].abs().max() == 0 and theirs[:, 0].abs().max() > 0
    out_of_range, _ = fast_copy(net, EXAMPLE, only={"bn4_2": {128}})
    assert isinstance(out_of_range.bn4_2, nn.Conv2d)  # left for the objective's own error


def test_hooked_modules_are_neither_folded_nor_subset():
    net = cnnlens.load("shapes").net
    calls = []
    handles = [
        net.get_submodule(p).register_forward_hook(lambda *_: calls.append(1))
        for p in ("conv2", "bn4_2")
    ]
    try:
        working, _ = fast_copy(net, EXAMPLE, only={"bn4_2": {3}})
        assert isinstance(working.conv2, nn.Conv2d) and isinstance(working.bn2, nn.BatchNorm2d)
        assert isinstance(working.bn4_2, nn.BatchNorm2d) and isinstance(working.bn3, nn.Conv2d)
        calls.clear()  # reading the graph ran one forward, with the user's hooks
        with torch.no_grad():
            working(torch.rand(1, 3, 64, 64))
        assert len(calls) == 2  # the user's hooks still run in the copy
    finally:
        for handle in handles:
            handle.remove()


def test_the_graph_is_read_once_per_network_until_its_modules_change():
    net = cnnlens.load("shapes").net
    first = graph_facts(net, EXAMPLE)
    assert graph_facts(net, EXAMPLE) is first and ("conv4_2", "bn4_2") in first.pairs
    net.relu4_2 = nn.Identity()  # another module type: the graph may differ, trace again
    assert graph_facts(net, EXAMPLE) is not first and graph_facts(net, EXAMPLE).pairs == first.pairs


class Logger:
    """A hook owner as users write them: it holds a lock, so it cannot be deep-copied."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0

    def hook(self, *_) -> None:
        with self.lock:
            self.calls += 1


def test_a_hook_owner_holding_a_lock_is_shared_not_copied(shapes):
    logger = Logger()
    handle = shapes.net.get_submodule("relu2").register_forward_hook(logger.hook)
    try:
        image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
        render(shapes, "relu3:0", steps=2)
        after_render = logger.calls
        assert after_render >= 3  # the graph reading, two steps, the final score: all seen
        invert(shapes, image, "relu3", steps=2)
        saliency(reinitialized(shapes, ["conv4_2"]), image, 0)
        assert logger.calls > after_render + 2
    finally:
        handle.remove()
