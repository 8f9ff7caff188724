#!/usr/bin/env python3
"""PyTorch goldens for the torch.nn layers dagrad mirrors (test/golden/layers.json).

Run with Debian's python3-torch (`apt-get install -y python3-torch`, torch 1.13):
    /usr/bin/python3 test/golden/scripts/gen_layers.py > test/golden/layers.json

Format: golden-v1 (see ../shared/golden/README.md). Two kinds of cases:
- op "module": attrs.class is a torch.nn class, attrs.args / attrs.kwargs its constructor
  arguments (PyTorch's names; dagrad's layer takes the same positional args and the kwargs
  as its options object), attrs.training the mode. inputs are x, then the module's
  state_dict under its own names (weight, bias, running_mean, ...), then `indices` for
  MaxUnpool. outputs: y, and in training mode the buffers after the call. grads: x and
  every parameter, for L = sum(y * upstream).
- ordinary op cases (mse_loss with broadcasting, binary_cross_entropy_with_logits with
  weight / pos_weight) in the format of the shared goldens, and op "pool_unpool":
  max_unpool(max_pool(x)) with overlapping windows, for the gradient through both.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(19)


def randn(*shape):
    return torch.randn(*shape, generator=gen)


def upstream_like(y):
    # values on a 1/1000 grid, as the shared goldens use
    return torch.randint(-1000, 1001, tuple(y.shape), generator=gen).double() / 1000


def enc(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "dtype": "int64", "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "dtype": "float64", "data": [float(v) for v in t.reshape(-1).tolist()]}


def pyrepr(args, kwargs):
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


def jsonable(v):
    return list(v) if isinstance(v, tuple) else v


cases = []


def module_case(name, cls, args, kwargs, x, training=True, tags=(), positive=False, unpool=None):
    torch.manual_seed(len(cases))
    m = getattr(nn, cls)(*args, **kwargs)
    # random parameters and buffers (the defaults would make batch norm trivial)
    with torch.no_grad():
        for pname, p in m.named_parameters():
            p.copy_(randn(*p.shape))
        for bname, b in m.named_buffers():
            if bname == "running_var":
                b.copy_(torch.rand(*b.shape, generator=gen) + 0.5)
            elif bname == "running_mean":
                b.copy_(randn(*b.shape) * 0.3)
            elif bname == "num_batches_tracked":
                b.fill_(3)
    m.train(training)
    if positive:
        x = x.abs() + 0.1
    inputs = {"x": enc(x)}
    state = {k: v.clone() for k, v in m.state_dict().items()}
    for k, v in state.items():
        inputs[k] = enc(v.double() if k == "num_batches_tracked" else v)
    xg = x.clone().requires_grad_(True)
    if unpool is not None:
        inputs["indices"] = enc(unpool["indices"])
        y = m(xg, unpool["indices"], **({"output_size": unpool["output_size"]} if unpool.get("output_size") else {}))
    else:
        y = m(xg)
    u = upstream_like(y)
    (y * u).sum().backward()
    outputs = {"y": enc(y)}
    if training:
        for k, v in m.state_dict().items():
            if k in ("running_mean", "running_var", "num_batches_tracked"):
                outputs[k] = enc(v.double())
    grads = {"x": enc(xg.grad)}
    for pname, p in m.named_parameters():
        grads[pname] = enc(p.grad)
    attrs = {"class": cls, "args": [jsonable(a) for a in args], "kwargs": {k: jsonable(v) for k, v in kwargs.items()}, "training": training}
    if unpool is not None and unpool.get("output_size"):
        attrs["output_size"] = list(unpool["output_size"])
    cases.append({
        "name": name, "op": "module",
        "torch": f"torch.nn.{cls}({pyrepr(args, kwargs)})" + (".train()" if training else ".eval()"),
        "attrs": attrs, "tags": list(tags), "inputs": inputs, "outputs": outputs,
        "upstream": {"y": enc(u)}, "grads": grads,
    })


# ---- convolution
module_case("conv1d_stride_pad", "Conv1d", [3, 4, 3], {"stride": 2, "padding": 1}, randn(2, 3, 9))
module_case("conv1d_unbatched", "Conv1d", [3, 2, 2], {"dilation": 2}, randn(3, 8), tags=["unbatched"])
module_case("conv2d_unbatched", "Conv2d", [2, 3, 3], {"padding": 1}, randn(2, 5, 5), tags=["unbatched"])
module_case("conv3d_mixed", "Conv3d", [2, 3, (2, 3, 2)], {"stride": (1, 2, 1), "padding": (1, 0, 1), "dilation": (1, 1, 2)}, randn(2, 2, 4, 5, 5))
module_case("conv3d_groups_nobias", "Conv3d", [4, 2, 2], {"groups": 2, "bias": False}, randn(1, 4, 3, 3, 3))
module_case("conv3d_unbatched_same", "Conv3d", [2, 2, 3], {"padding": "same"}, randn(2, 3, 4, 3), tags=["unbatched"])
module_case("conv_transpose1d", "ConvTranspose1d", [3, 4, 3], {"stride": 2, "padding": 1, "output_padding": 1}, randn(2, 3, 5))
module_case("conv_transpose2d_groups", "ConvTranspose2d", [4, 2, 3], {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, randn(1, 4, 3, 3))
module_case("conv_transpose2d_unbatched", "ConvTranspose2d", [2, 3, 2], {"stride": 2, "dilation": 2}, randn(2, 3, 2), tags=["unbatched"])
module_case("conv_transpose3d", "ConvTranspose3d", [2, 3, 2], {"stride": 2}, randn(1, 2, 2, 3, 2))
module_case("conv_transpose3d_nobias", "ConvTranspose3d", [2, 2, (1, 2, 3)], {"padding": (0, 1, 1), "bias": False}, randn(2, 2, 2, 2, 3))

# ---- pooling (random continuous inputs: no ties)
module_case("max_pool1d", "MaxPool1d", [3], {"stride": 2, "padding": 1}, randn(2, 3, 9))
module_case("max_pool1d_dilated_ceil", "MaxPool1d", [2], {"stride": 2, "dilation": 2, "ceil_mode": True}, randn(1, 2, 8))
module_case("max_pool2d_unbatched", "MaxPool2d", [2], {}, randn(3, 4, 4), tags=["unbatched"])
module_case("max_pool3d_ceil", "MaxPool3d", [2], {"stride": (1, 2, 2), "ceil_mode": True}, randn(1, 2, 3, 5, 5))
module_case("max_pool3d_pad", "MaxPool3d", [3], {"stride": 2, "padding": 1}, randn(2, 1, 4, 4, 5))
module_case("avg_pool1d_exclude_pad", "AvgPool1d", [3], {"stride": 2, "padding": 1, "count_include_pad": False}, randn(2, 3, 8))
module_case("avg_pool1d_ceil", "AvgPool1d", [2], {"ceil_mode": True}, randn(1, 2, 7))
module_case("avg_pool3d_ceil", "AvgPool3d", [2], {"ceil_mode": True}, randn(1, 2, 3, 5, 4))
module_case("avg_pool3d_divisor", "AvgPool3d", [3], {"stride": 2, "padding": 1, "divisor_override": 5}, randn(1, 2, 4, 4, 4))
module_case("lp_pool1d_p2", "LPPool1d", [2, 3], {"stride": 2}, randn(2, 3, 9))
module_case("lp_pool2d_p3_positive", "LPPool2d", [3, 2], {}, randn(1, 2, 4, 6), positive=True)
module_case("lp_pool2d_ceil", "LPPool2d", [2, (2, 3)], {"stride": (1, 2), "ceil_mode": True}, randn(1, 2, 3, 7))
module_case("adaptive_max_pool1d", "AdaptiveMaxPool1d", [4], {}, randn(2, 3, 10))
module_case("adaptive_max_pool2d_none", "AdaptiveMaxPool2d", [(3, None)], {}, randn(1, 2, 7, 5))
module_case("adaptive_max_pool3d", "AdaptiveMaxPool3d", [2], {}, randn(1, 2, 5, 4, 3))
module_case("adaptive_avg_pool1d", "AdaptiveAvgPool1d", [3], {}, randn(2, 3, 7))
module_case("adaptive_avg_pool3d_none", "AdaptiveAvgPool3d", [(2, 3, None)], {}, randn(1, 2, 5, 7, 3))


def unpool_case(name, dims, k, s, p, shape, output_size=None, tags=()):
    src = randn(*shape)
    pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][dims - 1]
    y, idx = pool(src, k, s, p, return_indices=True)
    module_case(name, f"MaxUnpool{dims}d", [k], {"stride": s, "padding": p}, y.detach(), unpool={"indices": idx, "output_size": output_size}, tags=tags)


unpool_case("max_unpool1d", 1, 2, 2, 0, (2, 2, 8))
unpool_case("max_unpool2d_overlap", 2, 3, 2, 1, (1, 2, 7, 7), tags=["duplicate_indices"])
unpool_case("max_unpool2d_output_size", 2, 2, 2, 0, (1, 2, 5, 5), output_size=[5, 5], tags=["explicit_output_size"])
unpool_case("max_unpool3d", 3, 2, 2, 0, (1, 2, 4, 4, 4))

# ---- batch norm
module_case("batch_norm1d_2d_input", "BatchNorm1d", [3], {}, randn(4, 3))
module_case("batch_norm1d_3d_input", "BatchNorm1d", [3], {"momentum": 0.3}, randn(2, 3, 5))
module_case("batch_norm1d_eval", "BatchNorm1d", [3], {}, randn(2, 3, 4), training=False)
module_case("batch_norm1d_no_stats", "BatchNorm1d", [3], {"affine": False, "track_running_stats": False}, randn(5, 3))
module_case("batch_norm2d_momentum_none", "BatchNorm2d", [3], {"momentum": None}, randn(2, 3, 3, 2), tags=["momentum_none"])
module_case("batch_norm3d", "BatchNorm3d", [2], {"eps": 1e-3}, randn(2, 2, 2, 3, 2))
module_case("batch_norm3d_eval", "BatchNorm3d", [2], {}, randn(1, 2, 2, 3, 2), training=False)
module_case("batch_norm3d_momentum_none", "BatchNorm3d", [2], {"momentum": None}, randn(2, 2, 2, 2, 2), tags=["momentum_none"])

# ---- activations
module_case("tanh", "Tanh", [], {}, randn(2, 5))
module_case("sigmoid", "Sigmoid", [], {}, randn(2, 5))
module_case("gelu", "GELU", [], {}, randn(2, 5))
module_case("gelu_tanh", "GELU", [], {"approximate": "tanh"}, randn(2, 5))
module_case("elu", "ELU", [0.7], {}, randn(2, 5))
module_case("leaky_relu", "LeakyReLU", [0.2], {}, randn(2, 5))
module_case("relu", "ReLU", [], {}, randn(2, 5))
module_case("softplus", "Softplus", [2, 3], {}, randn(2, 5))
module_case("softmax_dim1", "Softmax", [1], {}, randn(2, 4, 3))
module_case("log_softmax_last", "LogSoftmax", [-1], {}, randn(2, 4, 3))
module_case("identity", "Identity", [], {}, randn(3, 2))


# ---- losses
def loss_case(name, op, torch_expr, fn, inputs, attrs, grads_of, tags=()):
    ts = {k: v.clone().requires_grad_(k in grads_of) for k, v in inputs.items()}
    y = fn(**ts)
    u = upstream_like(y) if y.dim() > 0 else torch.tensor(1.0)
    (y * u).sum().backward()
    cases.append({
        "name": name, "op": op, "torch": torch_expr, "attrs": attrs, "tags": list(tags),
        "inputs": {k: enc(v) for k, v in inputs.items()}, "outputs": {"y": enc(y)},
        "upstream": {"y": enc(u)}, "grads": {k: enc(ts[k].grad) for k in grads_of},
    })


for red in ("mean", "sum", "none"):
    loss_case(f"mse_loss_broadcast_{red}", "mse_loss", f"torch.nn.functional.mse_loss(x, target, reduction={red!r})  # UserWarning: target size differs",
              lambda x, target, red=red: F.mse_loss(x, target, reduction=red), {"x": randn(3, 1, 4), "target": randn(2, 4)}, {"reduction": red}, ["x", "target"], tags=["broadcast"])
logits, labels = randn(4, 3) * 3, torch.randint(0, 2, (4, 3), generator=gen).double()
for red in ("mean", "sum", "none"):
    loss_case(f"bce_logits_weight_pos_weight_{red}", "binary_cross_entropy_with_logits",
              f"torch.nn.functional.binary_cross_entropy_with_logits(x, target, weight=weight, pos_weight=pos_weight, reduction={red!r})",
              lambda x, target, weight, pos_weight, red=red: F.binary_cross_entropy_with_logits(x, target, weight=weight, pos_weight=pos_weight, reduction=red),
              {"x": logits, "target": labels, "weight": torch.rand(4, 1, generator=gen) + 0.5, "pos_weight": torch.rand(3, generator=gen) * 3}, {"reduction": red}, ["x", "target"])
loss_case("bce_logits_pos_weight_soft_targets", "binary_cross_entropy_with_logits",
          "torch.nn.functional.binary_cross_entropy_with_logits(x, target, pos_weight=pos_weight)",
          lambda x, target, pos_weight: F.binary_cross_entropy_with_logits(x, target, pos_weight=pos_weight),
          {"x": randn(2, 3) * 30, "target": torch.rand(2, 3, generator=gen), "pos_weight": torch.tensor([0.5, 2.0, 4.0])}, {"reduction": "mean"}, ["x", "target"], tags=["large_logits"])


# ---- max_unpool(max_pool(x)) with overlapping windows: the gradient through both
def pool_unpool_case(name, dims, k, s, p, shape):
    x = randn(*shape)
    # ties on purpose: a coarse grid makes overlapping windows share maxima
    x = torch.round(x * 2) / 2
    xg = x.clone().requires_grad_(True)
    pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][dims - 1]
    unpool = [F.max_unpool1d, F.max_unpool2d, F.max_unpool3d][dims - 1]
    y, idx = pool(xg, k, s, p, return_indices=True)
    z = unpool(y, idx, k, s, p, output_size=list(shape[2:]))
    u = upstream_like(z)
    (z * u).sum().backward()
    cases.append({
        "name": name, "op": "pool_unpool",
        "torch": f"F.max_unpool{dims}d(*F.max_pool{dims}d(x, {k}, {s}, {p}, return_indices=True), {k}, {s}, {p}, output_size=x.shape[2:])",
        "attrs": {"dims": dims, "kernel_size": k, "stride": s, "padding": p}, "tags": ["duplicate_indices", "ties"],
        "inputs": {"x": enc(x)}, "outputs": {"y": enc(z), "indices": enc(idx)}, "upstream": {"y": enc(u)}, "grads": {"x": enc(xg.grad)},
    })


pool_unpool_case("pool_unpool1d_overlap", 1, 3, 1, 1, (2, 2, 9))
pool_unpool_case("pool_unpool2d_overlap", 2, 3, 2, 1, (1, 2, 7, 7))
pool_unpool_case("pool_unpool2d_stride1", 2, 2, 1, 0, (1, 1, 5, 5))
pool_unpool_case("pool_unpool3d_overlap", 3, 2, 1, 0, (1, 1, 3, 4, 3))

out = {"format": "golden-v1", "family": "layers", "dtype": "float64", "torch_version": torch.__version__,
       "generator": "test/golden/scripts/gen_layers.py", "cases": cases}
sys.stdout.write("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items() if k != "cases") + ',\n "cases": [\n')
sys.stdout.write(",\n".join(json.dumps(c) for c in cases))
sys.stdout.write("\n]}\n")
