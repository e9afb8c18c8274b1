"""The render's fast working copy: same values as the user's network, weights shared, BatchNorm
folded only where nobody reads the convolution, and the user's network left exactly as it was."""

import torch
from torch import nn

import cnnlens
from cnnlens.core.capture import capture
from cnnlens.core.fastcopy import ChannelSubset, fast_copy, graph_facts


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
    working, layout = fast_copy(model.net)
    assert same(before, snapshot(model.net))
    assert layout == torch.channels_last
    assert isinstance(working.conv4_2, nn.Identity) and isinstance(working.bn4_2, nn.Conv2d)
    assert working.fc.weight is model.net.fc.weight  # shared, not duplicated
    images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ours = capture(working, images.contiguous(memory_format=layout), ["bn2", "bn4_2", "fc"])
    theirs = capture(model.net, images, ["bn2", "bn4_2", "fc"])
    for path in ("bn2", "bn4_2", "fc"):
        assert torch.allclose(ours[path], theirs[path], atol=1e-5, rtol=1e-5)


def test_a_read_convolution_keeps_its_own_output():
    net = cnnlens.load("shapes").net
    working, _ = fast_copy(net, keep=["conv3"])
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
    working, layout = fast_copy(net)
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
        self.fc = nn.Linear(4 * 6 * 6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).view(x.shape[0], -1))


class DataDependent(nn.Module):
    """Control flow on a value: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y if y.mean() > 0 else -y


def test_views_keep_the_default_layout_and_untraceable_models_run_as_they_are():
    net = ViewNet()
    working, layout = fast_copy(net)
    assert layout == torch.contiguous_format and working is not net
    x = torch.rand(2, 3, 8, 8)
    assert torch.allclose(working(x), net(x))
    untraceable = DataDependent()
    assert fast_copy(untraceable) == (untraceable, torch.contiguous_format)


def test_a_channel_subset_computes_those_channels_and_zeros_elsewhere():
    net = cnnlens.load("shapes").net
    working, layout = fast_copy(net, only={"bn4_2": {3, 7}})
    assert isinstance(working.bn4_2, ChannelSubset) and working.bn4_2.part.out_channels == 2
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    ours = capture(working, images.contiguous(memory_format=layout), "bn4_2")["bn4_2"]
    theirs = capture(net, images, "bn4_2")["bn4_2"]
    assert torch.allclose(ours[:, [3, 7]], theirs[:, [3, 7]], atol=1e-5, rtol=1e-5)
    assert ours[:, [0, 1, 2, 4, 5, 6]].abs().max() == 0 and theirs[:, 0].abs().max() > 0
    out_of_range, _ = fast_copy(net, only={"bn4_2": {128}})
    assert isinstance(out_of_range.bn4_2, nn.Conv2d)  # left for the objective's own error


def test_hooked_modules_are_neither_folded_nor_subset():
    net = cnnlens.load("shapes").net
    calls = []
    handles = [
        net.get_submodule(p).register_forward_hook(lambda *_: calls.append(1))
        for p in ("conv2", "bn4_2")
    ]
    try:
        working, _ = fast_copy(net, only={"bn4_2": {3}})
        assert isinstance(working.conv2, nn.Conv2d) and isinstance(working.bn2, nn.BatchNorm2d)
        assert isinstance(working.bn4_2, nn.BatchNorm2d) and isinstance(working.bn3, nn.Conv2d)
        with torch.no_grad():
            working(torch.rand(1, 3, 64, 64))
        assert len(calls) == 2  # the user's hooks still run in the copy
    finally:
        for handle in handles:
            handle.remove()


def test_the_graph_is_traced_once_per_network_until_its_modules_change():
    net = cnnlens.load("shapes").net
    first = graph_facts(net)
    assert graph_facts(net) is first and ("conv4_2", "bn4_2") in first.pairs
    net.relu4_2 = nn.Identity()  # another module type: the graph may differ, trace again
    assert graph_facts(net) is not first and graph_facts(net).pairs == first.pairs
