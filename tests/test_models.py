"""Models: the shipped embedded weights, the training command, torchvision models by name."""

import json
import shutil
import urllib.error

import pytest
import torch

import cnnlens
from cnnlens.models.embedded import WEIGHTS_DIR, _load_shapes, checkpoint_names, read_manifest
from cnnlens.train import evaluate, train


def test_shipped_model_reaches_97_percent_on_fresh_held_out_images(shapes):
    # seed 7: images neither trained on (seed 0) nor used for the manifest's figure (seed 1).
    accuracy = evaluate(shapes.net, images=1000, seed=7)
    assert min(accuracy.values()) >= 0.97, accuracy
    assert shapes.class_names[:2] == ("shape:circle", "shape:square")
    assert shapes.heads["texture"] == slice(12, 18)
    assert shapes.head_of(13) == "texture"
    assert len(shapes.concepts) == 17


def test_evaluate_gives_every_submodule_its_own_training_flag_back_also_on_interrupt():
    net = _load_shapes("final").net.train()
    net.bn1.eval()  # a frozen BatchNorm inside a training net
    flags = {name: m.training for name, m in net.named_modules()}
    evaluate(net, images=8)
    assert {name: m.training for name, m in net.named_modules()} == flags

    def interrupt(*_):
        raise KeyboardInterrupt

    net.conv2.register_forward_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        evaluate(net, images=8)
    assert {name: m.training for name, m in net.named_modules()} == flags


def test_shipped_weights_fit_the_size_budget_and_have_early_checkpoints():
    total = sum(path.stat().st_size for path in WEIGHTS_DIR.iterdir())
    assert total < 5_000_000, f"{total / 1e6:.1f} MB of weights"
    assert checkpoint_names() == ["epoch0", "epoch1", "epoch2", "epoch4", "final"]
    manifest = read_manifest()
    assert min(manifest["held_out_accuracy"].values()) >= 0.97
    early, final = _load_shapes("epoch1").net, _load_shapes("final").net
    assert not torch.equal(early.conv1.weight, final.conv1.weight)


def test_training_is_deterministic_and_writes_a_loadable_manifest(tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        train(images=128, batch_size=32, out=out, eval_images=64, log=lambda _: None)
    manifests = [json.loads((out / "manifest.json").read_text()) for out in runs]
    assert manifests[0]["files"] == manifests[1]["files"], "same seed, same bytes"
    model = _load_shapes(weights_dir=runs[0])
    assert model.net.fc.out_features == 18
    assert set(manifests[0]["files"]) == {"epoch0", "final"}


def test_corrupt_weights_are_refused(tmp_path):
    shutil.copytree(WEIGHTS_DIR, tmp_path / "w")
    final = tmp_path / "w" / read_manifest()["files"]["final"]["file"]
    data = bytearray(final.read_bytes())
    data[-1] ^= 0xFF
    final.write_bytes(bytes(data))
    with pytest.raises(cnnlens.CnnlensError, match="checksum mismatch"):
        _load_shapes(weights_dir=tmp_path / "w")


def test_load_errors_are_one_line():
    with pytest.raises(cnnlens.CnnlensError, match=r"'vgg61'; did you mean .*'vgg16'"):
        cnnlens.load("vgg61")
    with pytest.raises(cnnlens.CnnlensError, match="unknown checkpoint 'epoch3'; shipped: epoch0"):
        cnnlens.load("shapes", checkpoint="epoch3")


def test_pretrained_weights_offline_say_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url, dst, **_):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(cnnlens.CnnlensError) as err:
        cnnlens.load("resnet18")
    message = str(err.value)
    assert "\n" not in message
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert "put resnet18-f37072fd.pth from https://download.pytorch.org" in message
    assert str(expected) in message and "pretrained=False" in message


def test_pretrained_weights_load_from_torchvisions_cache(tmp_path, monkeypatch):
    """With the file in place (as after a download) loading works offline, through torchvision."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    reference = cnnlens.load("alexnet", pretrained=False).net
    target = tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)
    loaded = cnnlens.load("alexnet")
    assert loaded.pretrained
    assert torch.equal(loaded.net.features[0].weight, reference.features[0].weight)
    assert loaded.class_names[0] == "tench"


def test_random_weights_for_every_zoo_name(zoo):
    assert {m.name for m in zoo.values()} == {"alexnet", "vgg16", "googlenet", "resnet18"}
    assert all(not m.pretrained and m.input_size == 224 for m in zoo.values())


def test_shapes_without_pretraining_is_the_untrained_init():
    untrained, epoch0 = cnnlens.load("shapes", pretrained=False), _load_shapes("epoch0")
    assert not untrained.pretrained
    for a, b in zip(
        untrained.net.state_dict().values(), epoch0.net.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
