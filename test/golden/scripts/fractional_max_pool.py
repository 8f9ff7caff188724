"""Golden vectors (golden-v1) for fractional_max_pool2d / fractional_max_pool3d.

Run with Debian's PyTorch (apt-get install -y python3-torch):
    /usr/bin/python3 test/golden/scripts/fractional_max_pool.py > test/golden/fractional_max_pool.json

PyTorch draws the window offsets from `_random_samples` ([N, C, 2] or [N, C, 3], values in
[0, 1)); passing them explicitly makes the op deterministic, so dagrad can match it exactly.
Inputs and upstream gradients lie on a 1/1000 grid; some cases use small integers to make
tied maxima (PyTorch keeps the first maximum in scan order; cases tagged "ties", which the
dagrad test confirms by enumerating the windows) and one holds NaN and -inf.
"""
import json
import math

import torch

torch.manual_seed(23)
torch.set_num_threads(1)


def grid(shape, lo=-3.0, hi=3.0):
    return torch.round((torch.rand(shape, dtype=torch.float64) * (hi - lo) + lo) * 1000) / 1000


def ints(shape, lo=-1, hi=2):
    return torch.randint(lo, hi + 1, shape).to(torch.float64)


def enc(t):
    def num(v):
        if isinstance(v, float):
            if math.isnan(v):
                return "NaN"
            if math.isinf(v):
                return "Infinity" if v > 0 else "-Infinity"
        return v

    dtype = "int64" if t.dtype == torch.int64 else "float64"
    data = [num(v) for v in t.flatten().tolist()]
    return {"shape": list(t.shape), "dtype": dtype, "data": data}


def case(name, dims, x, kernel_size, samples, output_size=None, output_ratio=None, tags=()):
    fn = torch.nn.functional.fractional_max_pool2d if dims == 2 else torch.nn.functional.fractional_max_pool3d
    x = x.clone().requires_grad_(True)
    y, idx = fn(x, kernel_size, output_size=output_size, output_ratio=output_ratio, return_indices=True, _random_samples=samples)
    tags = list(tags)
    finite = bool(torch.isfinite(y).all())
    c = {
        "name": name,
        "op": f"fractional_max_pool{dims}d",
        "torch": f"torch.nn.functional.fractional_max_pool{dims}d(x, kernel_size={kernel_size!r}, output_size={output_size!r}, output_ratio={output_ratio!r}, return_indices=True, _random_samples=samples)",
        "attrs": {
            "kernel_size": list(kernel_size) if isinstance(kernel_size, tuple) else [kernel_size] * dims,
            "output_size": None if output_size is None else (list(output_size) if isinstance(output_size, tuple) else [output_size] * dims),
            "output_ratio": None if output_ratio is None else (list(output_ratio) if isinstance(output_ratio, tuple) else [output_ratio] * dims),
            "return_indices": True,
        },
        "tags": tags,
        "inputs": {"x": enc(x.detach()), "samples": enc(samples)},
        "outputs": {"y": enc(y.detach()), "indices": enc(idx)},
    }
    if finite and not bool(torch.isnan(x).any()):
        up = grid(y.shape, -2, 2)
        (g,) = torch.autograd.grad((y * up).sum(), x)
        c["upstream"] = {"y": enc(up)}
        c["grads"] = {"x": enc(g)}
    else:
        c["tags"].append("forward_only")
    return c


def samples(n, c, dims):
    return torch.round(torch.rand(n, c, dims, dtype=torch.float64) * 1000) / 1000


cases = [
    case("fmp2d_k2_out3_5x5", 2, grid((1, 1, 5, 5)), 2, torch.tensor([[[0.3, 0.7]]], dtype=torch.float64), output_size=3),
    case("fmp2d_k2_out4_asym_samples", 2, grid((2, 3, 7, 9)), 2, samples(2, 3, 2), output_size=(4, 5)),
    case("fmp2d_k3x2_out5x4", 2, grid((1, 2, 11, 8)), (3, 2), samples(1, 2, 2), output_size=(5, 4)),
    case("fmp2d_ratio_0.5", 2, grid((2, 2, 10, 12)), 2, samples(2, 2, 2), output_ratio=(0.5, 0.5)),
    case("fmp2d_ratio_0.7", 2, grid((1, 3, 9, 9)), 2, samples(1, 3, 2), output_ratio=(0.7, 0.7)),
    case("fmp2d_out1", 2, grid((1, 1, 4, 6)), 2, samples(1, 1, 2), output_size=1),
    case("fmp2d_out_eq_in_minus_k_plus_1", 2, grid((1, 1, 6, 6)), 3, samples(1, 1, 2), output_size=4),
    case("fmp2d_ties_ints", 2, ints((2, 2, 8, 8)), 2, samples(2, 2, 2), output_size=(5, 5), tags=["ties"]),
    case("fmp2d_all_zero", 2, torch.zeros(1, 1, 6, 6, dtype=torch.float64), 2, samples(1, 1, 2), output_size=4, tags=["ties"]),
    case("fmp2d_samples_edges", 2, grid((1, 2, 9, 9)), 2, torch.tensor([[[0.0, 0.999], [0.999, 0.0]]], dtype=torch.float64), output_size=6),
    case("fmp3d_k2_out3", 3, grid((1, 2, 6, 6, 6)), 2, samples(1, 2, 3), output_size=3),
    case("fmp3d_k2x3x2_out_asym", 3, grid((2, 1, 7, 8, 6)), (2, 3, 2), samples(2, 1, 3), output_size=(4, 3, 4)),
    case("fmp3d_ratio_0.5", 3, grid((1, 1, 8, 6, 10)), 2, samples(1, 1, 3), output_ratio=(0.5, 0.5, 0.5)),
    case("fmp3d_ties_ints", 3, ints((1, 2, 5, 5, 5)), 2, samples(1, 2, 3), output_size=3, tags=["ties"]),
]

x_nan = grid((1, 1, 6, 6))
x_nan[0, 0, 1, 1] = float("nan")
x_nan[0, 0, 4, 4] = float("-inf")
cases.append(case("fmp2d_nan", 2, x_nan, 2, torch.tensor([[[0.25, 0.5]]], dtype=torch.float64), output_size=3, tags=["nonfinite_input"]))

print('{"format":"golden-v1","family":"fractional_max_pool","dtype":"float64","torch_version":"%s","cases":[' % torch.__version__)
print(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
print("]}")
