"""Small networks with the habits real user models have and cnnlens must not assume away."""

from torch import nn


class LeNet(nn.Module):
    """A classic 32-px LeNet: one ReLU module shared by both convs, a `x.view(x.size(0), -1)`
    flatten (refuses channels-last tensors) and a fixed-size head."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.relu, self.pool = nn.ReLU(), nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 5 * 5, classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        return self.fc(x.view(x.size(0), -1))


def fixed_size_net(classes: int = 4) -> nn.Sequential:
    """A 32-px network whose head takes exactly 8 × 8 × 8 features: `Flatten → Linear(512, 4)`."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, classes),
    )  # fmt: skip


class SharedBlock(nn.Module):
    """One conv `block` applied twice in `forward` (shared weights), then a pooled linear head."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.stem, self.block = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, classes)

    def calls(self, x):
        """The block's two outputs, by an explicit forward."""
        first = self.block(self.stem(x).relu())
        return first, self.block(first.relu())

    def forward(self, x):
        return self.head(self.calls(x)[1].mean(dim=(2, 3)))
