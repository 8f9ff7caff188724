"""What PyTorch does with size-0 dimensions, per op: the output shape (forward, and the
gradients' shapes of sum(output) w.r.t. every float input) or 'error'. Writes
zero-size.json next to this file; test/reliability/zero-size.test.ts checks dagrad against it.

    /usr/bin/python3 test/reliability/zero-size/zero_size_torch.py
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
Z = torch.zeros

def T(*shape):
    return torch.zeros(*shape, requires_grad=True)

def L(*vals):
    return torch.tensor(vals, dtype=torch.long)

CASES = {
    "reshape [6,0] -> [-1,0]": lambda: (lambda x: (x.reshape(-1, 0), [x]))(T(6, 0)),
    "reshape [0,3] -> [-1]": lambda: (lambda x: (x.reshape(-1), [x]))(T(0, 3)),
    "reshape [0,3] -> [-1,3]": lambda: (lambda x: (x.reshape(-1, 3), [x]))(T(0, 3)),
    "reshape [0,3] -> [3,-1]": lambda: (lambda x: (x.reshape(3, -1), [x]))(T(0, 3)),
    "flatten [2,0,3] from 1": lambda: (lambda x: (torch.flatten(x, 1), [x]))(T(2, 0, 3)),
    "transpose [0,2]": lambda: (lambda x: (x.transpose(0, 1), [x]))(T(0, 2)),
    "expand [1,3] -> [0,3]": lambda: (lambda x: (x.expand(0, 3), [x]))(T(1, 3)),
    "add [0,3] + [1,3]": lambda: (lambda a, b: (a + b, [a, b]))(T(0, 3), T(1, 3)),
    "add [2,0] + [2,1]": lambda: (lambda a, b: (a + b, [a, b]))(T(2, 0), T(2, 1)),
    "add [0] + [2]": lambda: (lambda a, b: (a + b, [a, b]))(T(0), T(2)),
    "relu [0,3]": lambda: (lambda x: (F.relu(x), [x]))(T(0, 3)),
    "gelu [0]": lambda: (lambda x: (F.gelu(x), [x]))(T(0)),
    "sum [0,3]": lambda: (lambda x: (x.sum(), [x]))(T(0, 3)),
    "sum [0,3] dim 0": lambda: (lambda x: (x.sum(0), [x]))(T(0, 3)),
    "mean [0,3]": lambda: (lambda x: (x.mean(), [x]))(T(0, 3)),
    "mean [0,3] dim 0": lambda: (lambda x: (x.mean(0), [x]))(T(0, 3)),
    "matmul [2,0] x [0,3]": lambda: (lambda a, b: (a @ b, [a, b]))(T(2, 0), T(0, 3)),
    "matmul [0,2] x [2,3]": lambda: (lambda a, b: (a @ b, [a, b]))(T(0, 2), T(2, 3)),
    "linear x[2,0] w[3,0]": lambda: (lambda x, w: (F.linear(x, w), [x, w]))(T(2, 0), T(3, 0)),
    "linear x[2,3] w[0,3]": lambda: (lambda x, w: (F.linear(x, w), [x, w]))(T(2, 3), T(0, 3)),
    "linear x[0,3] w[2,3] b[2]": lambda: (lambda x, w, b: (F.linear(x, w, b), [x, w, b]))(T(0, 3), T(2, 3), T(2)),
    "linear x[4,2,0] w[3,0]": lambda: (lambda x, w: (F.linear(x, w), [x, w]))(T(4, 2, 0), T(3, 0)),
    "conv2d x[0,1,4,4] w[2,1,3,3]": lambda: (lambda x, w: (F.conv2d(x, w), [x, w]))(T(0, 1, 4, 4), T(2, 1, 3, 3)),
    "conv2d x[1,0,4,4] w[2,0,3,3]": lambda: (lambda x, w: (F.conv2d(x, w), [x, w]))(T(1, 0, 4, 4), T(2, 0, 3, 3)),
    "conv2d x[1,1,0,4] w[2,1,1,1]": lambda: (lambda x, w: (F.conv2d(x, w), [x, w]))(T(1, 1, 0, 4), T(2, 1, 1, 1)),
    "conv2d x[1,1,4,4] w[0,1,3,3]": lambda: (lambda x, w: (F.conv2d(x, w), [x, w]))(T(1, 1, 4, 4), T(0, 1, 3, 3)),
    "conv2d x[1,1,4,4] w[1,1,0,3]": lambda: (lambda x, w: (F.conv2d(x, w), [x, w]))(T(1, 1, 4, 4), T(1, 1, 0, 3)),
    "conv1d x[1,1,4] w[2,1,0]": lambda: (lambda x, w: (F.conv1d(x, w), [x, w]))(T(1, 1, 4), T(2, 1, 0)),
    "conv_transpose2d x[1,1,4,4] w[1,1,0,3]": lambda: (lambda x, w: (F.conv_transpose2d(x, w), [x, w]))(T(1, 1, 4, 4), T(1, 1, 0, 3)),
    "conv_transpose1d x[1,1,4] w[1,2,0]": lambda: (lambda x, w: (F.conv_transpose1d(x, w), [x, w]))(T(1, 1, 4), T(1, 2, 0)),
    "conv_transpose2d x[0,1,4,4] w[1,2,3,3]": lambda: (lambda x, w: (F.conv_transpose2d(x, w), [x, w]))(T(0, 1, 4, 4), T(1, 2, 3, 3)),
    "conv_transpose2d x[1,1,4,4] w[1,0,3,3]": lambda: (lambda x, w: (F.conv_transpose2d(x, w), [x, w]))(T(1, 1, 4, 4), T(1, 0, 3, 3)),
    "conv_transpose2d x[1,0,4,4] w[0,2,3,3]": lambda: (lambda x, w: (F.conv_transpose2d(x, w), [x, w]))(T(1, 0, 4, 4), T(0, 2, 3, 3)),
    "max_pool2d x[0,1,4,4] k2": lambda: (lambda x: (F.max_pool2d(x, 2), [x]))(T(0, 1, 4, 4)),
    "max_pool2d x[1,0,4,4] k2": lambda: (lambda x: (F.max_pool2d(x, 2), [x]))(T(1, 0, 4, 4)),
    "max_pool2d x[1,1,0,4] k1": lambda: (lambda x: (F.max_pool2d(x, 1), [x]))(T(1, 1, 0, 4)),
    "max_pool1d x[1,1,0] k1": lambda: (lambda x: (F.max_pool1d(x, 1), [x]))(T(1, 1, 0)),
    "avg_pool2d x[0,1,4,4] k2": lambda: (lambda x: (F.avg_pool2d(x, 2), [x]))(T(0, 1, 4, 4)),
    "avg_pool2d x[1,0,4,4] k2": lambda: (lambda x: (F.avg_pool2d(x, 2), [x]))(T(1, 0, 4, 4)),
    "lp_pool2d x[0,1,4,4] k2": lambda: (lambda x: (F.lp_pool2d(x + 1, 2, 2), [x]))(T(0, 1, 4, 4)),
    "adaptive_avg_pool2d x[0,1,4,4] out 2": lambda: (lambda x: (F.adaptive_avg_pool2d(x, 2), [x]))(T(0, 1, 4, 4)),
    "adaptive_avg_pool2d x[1,0,4,4] out 2": lambda: (lambda x: (F.adaptive_avg_pool2d(x, 2), [x]))(T(1, 0, 4, 4)),
    "adaptive_avg_pool2d x[1,1,4,4] out 0": lambda: (lambda x: (F.adaptive_avg_pool2d(x, 0), [x]))(T(1, 1, 4, 4)),
    "adaptive_max_pool2d x[0,1,4,4] out 2": lambda: (lambda x: (F.adaptive_max_pool2d(x, 2), [x]))(T(0, 1, 4, 4)),
    "adaptive_max_pool2d x[1,0,4,4] out 2": lambda: (lambda x: (F.adaptive_max_pool2d(x, 2), [x]))(T(1, 0, 4, 4)),
    "adaptive_max_pool2d x[1,1,4,4] out 0": lambda: (lambda x: (F.adaptive_max_pool2d(x, 0), [x]))(T(1, 1, 4, 4)),
    "softmax [2,0] dim 1": lambda: (lambda x: (F.softmax(x, 1), [x]))(T(2, 0)),
    "softmax [0,3] dim 1": lambda: (lambda x: (F.softmax(x, 1), [x]))(T(0, 3)),
    "log_softmax [2,0] dim 1": lambda: (lambda x: (F.log_softmax(x, 1), [x]))(T(2, 0)),
    "cross_entropy x[0,3] mean": lambda: (lambda x: (F.cross_entropy(x, L()), [x]))(T(0, 3)),
    "cross_entropy x[0,3] sum": lambda: (lambda x: (F.cross_entropy(x, L(), reduction="sum"), [x]))(T(0, 3)),
    "nll_loss x[0,3] mean": lambda: (lambda x: (F.nll_loss(x, L()), [x]))(T(0, 3)),
    "mse_loss [0] mean": lambda: (lambda x, t: (F.mse_loss(x, t), [x, t]))(T(0), T(0)),
    "mse_loss [0] sum": lambda: (lambda x, t: (F.mse_loss(x, t, reduction="sum"), [x, t]))(T(0), T(0)),
    "bce_with_logits [0] mean": lambda: (lambda x, t: (F.binary_cross_entropy_with_logits(x, t), [x, t]))(T(0), T(0)),
    "batch_norm2d train x[0,3,2,2]": lambda: (lambda x: (F.batch_norm(x, None, None, training=True), [x]))(T(0, 3, 2, 2)),
    "batch_norm2d train x[2,0,2,2]": lambda: (lambda x: (F.batch_norm(x, None, None, training=True), [x]))(T(2, 0, 2, 2)),
    "batch_norm2d eval x[0,3,2,2]": lambda: (lambda x: (F.batch_norm(x, torch.zeros(3), torch.ones(3), training=False), [x]))(T(0, 3, 2, 2)),
    "conv3d x[0,1,3,3,3] w[2,1,2,2,2]": lambda: (lambda x, w: (F.conv3d(x, w), [x, w]))(T(0, 1, 3, 3, 3), T(2, 1, 2, 2, 2)),
    "conv3d x[1,1,3,3,3] w[2,1,0,2,2]": lambda: (lambda x, w: (F.conv3d(x, w), [x, w]))(T(1, 1, 3, 3, 3), T(2, 1, 0, 2, 2)),
    "conv1d x[0,2,5] w[3,2,2] stride 2": lambda: (lambda x, w: (F.conv1d(x, w, stride=2), [x, w]))(T(0, 2, 5), T(3, 2, 2)),
    "conv_transpose1d x[0,1,4] w[1,2,3]": lambda: (lambda x, w: (F.conv_transpose1d(x, w), [x, w]))(T(0, 1, 4), T(1, 2, 3)),
    "max_pool1d x[0,2,4] k2": lambda: (lambda x: (F.max_pool1d(x, 2), [x]))(T(0, 2, 4)),
    "max_pool3d x[1,0,2,2,2] k1": lambda: (lambda x: (F.max_pool3d(x, 1), [x]))(T(1, 0, 2, 2, 2)),
    "avg_pool1d x[1,0,4] k2": lambda: (lambda x: (F.avg_pool1d(x, 2), [x]))(T(1, 0, 4)),
    "avg_pool3d x[0,1,2,2,2] k2": lambda: (lambda x: (F.avg_pool3d(x, 2), [x]))(T(0, 1, 2, 2, 2)),
    "lp_pool2d x[1,0,4,4] k2": lambda: (lambda x: (F.lp_pool2d(x + 1, 2, 2), [x]))(T(1, 0, 4, 4)),
    "adaptive_avg_pool1d x[0,1,4] out 2": lambda: (lambda x: (F.adaptive_avg_pool1d(x, 2), [x]))(T(0, 1, 4)),
    "adaptive_max_pool1d x[1,1,0] out 1": lambda: (lambda x: (F.adaptive_max_pool1d(x, 1), [x]))(T(1, 1, 0)),
    "max_unpool2d x[0,1,2,2] k2": lambda: (lambda x: (lambda y, i: (F.max_unpool2d(y, i, 2), [x]))(*F.max_pool2d(x, 2, return_indices=True)))(T(0, 1, 4, 4)),
    "leaky_relu [0,2]": lambda: (lambda x: (F.leaky_relu(x, 0.1), [x]))(T(0, 2)),
    "elu [2,0]": lambda: (lambda x: (F.elu(x), [x]))(T(2, 0)),
    "softplus [0]": lambda: (lambda x: (F.softplus(x), [x]))(T(0)),
    "sigmoid * tanh [0,3]": lambda: (lambda x: (torch.sigmoid(x) * torch.tanh(x), [x]))(T(0, 3)),
    "div [0,3] / [3]": lambda: (lambda a, b: (a / b, [a, b]))(T(0, 3), T(3)),
    "log_softmax [0,3] dim 0": lambda: (lambda x: (F.log_softmax(x, 0), [x]))(T(0, 3)),
    "permute [2,0,3] (2,0,1)": lambda: (lambda x: (x.permute(2, 0, 1), [x]))(T(2, 0, 3)),
    "sum [2,0,3] dims (0,2) keepdim": lambda: (lambda x: (x.sum((0, 2), keepdim=True), [x]))(T(2, 0, 3)),
    "mean [2,0] dim 1": lambda: (lambda x: (x.mean(1), [x]))(T(2, 0)),
    "matmul [3,0] x [0,0]": lambda: (lambda a, b: (a @ b, [a, b]))(T(3, 0), T(0, 0)),
    "bce_with_logits [0] sum": lambda: (lambda x, t: (F.binary_cross_entropy_with_logits(x, t, reduction="sum"), [x, t]))(T(0), T(0)),
    "dropout train [0,3]": lambda: (lambda x: (F.dropout(x, 0.5, training=True), [x]))(T(0, 3)),
}

def shape(t):
    return list(t.shape)

def value(t):
    v = t.detach().reshape(-1).tolist()
    return [None if math.isnan(a) else a for a in v] if t.numel() <= 8 else None

out = {}
for name, f in CASES.items():
    try:
        y, inputs = f()
        grads = torch.autograd.grad(y.sum(), inputs, allow_unused=True)
        out[name] = {"y": shape(y), "values": value(y), "grads": [None if g is None else shape(g) for g in grads]}
    except Exception as e:  # noqa: BLE001 - recording what PyTorch rejects
        out[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
with open(os.path.join(os.path.dirname(__file__), "zero-size.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "cases": out}, fh, indent=1)
for k, v in out.items():
    print(f"{k:45s} {v}")
