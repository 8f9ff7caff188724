"""PyTorch side of the `pytorch` bench system (bench/systems/pytorch.ts drives it).

    python3 pytorch_bench.py --info        -> one JSON line: torch version, BLAS library, python
    python3 pytorch_bench.py < request     -> one JSON line answering the request

A request is one JSON object:
    {"workload": "W1", "threads": 1, "action": "time" | "losses" | "outputs",
     "tensors": {"x": {"file": ..., "shape": [...], "dtype": "float32" | "int32"}, ...},
     "measure": {"warmup", "warmupMs", "iterations", "budgetMs", "minIterations"},   # time
     "steps": 5,                                                                      # losses
     "outDir": "/tmp/..."}                                                            # outputs
The tensors are the TypeScript side's (bench/lib/data.ts), written as raw little-endian
files, so every system computes on the same numbers. Answers: {"threads", "times": [ms...]},
{"threads", "losses": [...]}, or {"threads", "outputs": {name: {"file", "length"}}} with the
outputs written as raw float32 in PyTorch layouts (NCHW, OIHW).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

LENET = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
         "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]


def info():
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # make sure the BLAS library is mapped
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    return {"torch": torch.__version__, "blas": libs[0] if libs else "unknown",
            "python": sys.version.split()[0]}


def load(spec):
    dtype = np.float32 if spec["dtype"] == "float32" else np.int32
    return torch.from_numpy(np.fromfile(spec["file"], dtype=dtype).reshape(spec["shape"]))


class LeNet5(torch.nn.Module):
    """dagrad's lenet5(): conv-relu-pool twice, then three linear layers (ReLU between)."""

    def __init__(self, params):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(params[name])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def build(workload, t):
    """(step, outputs) for the workload: what one timed iteration does, as in the other systems."""
    if workload in ("W1", "W4"):
        model = LeNet5({n: t[n] for n in LENET})
        x = t["x"]
        if workload == "W4":
            def infer():
                with torch.no_grad():
                    return {"y": model(x)}
            return infer, infer
        labels = t["labels"].long()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def train():
            # dagrad's Trainer.step: forward, mean cross-entropy, backward, SGD update, read the loss
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            opt.step()
            return loss.item()
        return train, None
    if workload == "W2":
        x = t["x"].clone().requires_grad_(True)
        gy = t["gy"]

        def pool():
            y = F.max_pool2d(x, 2, 2)
            (dx,) = torch.autograd.grad(y, x, gy)
            return {"y": y, "dx": dx}
        return pool, pool
    if workload == "W3":
        x = t["x"].clone().requires_grad_(True)
        w = t["weight"].clone().requires_grad_(True)
        gy = t["gy"]

        def conv():
            y = F.conv2d(x, w, padding=1)
            dx, dw = torch.autograd.grad(y, (x, w), gy)
            return {"y": y, "dx": dx, "dw": dw}
        return conv, conv
    if workload in ("GEMM256", "GEMM512"):
        a, b = t["a"], t["b"]
        c = torch.empty(a.shape[0], b.shape[1])

        def gemm():
            # into a preallocated result, as dagrad's plan recycles its output buffer
            torch.mm(a, b, out=c)
            return {"y": c}
        return gemm, gemm
    raise ValueError(f"unknown workload {workload}")


def measure(step, o):
    """bench/lib/harness.ts measure(), step for step: warm-up, then timed runs within the budget."""
    now = lambda: time.perf_counter() * 1000
    start = now()
    i = 0
    while i < o["warmup"] or now() - start < o["warmupMs"]:
        t0 = now()
        step()
        i += 1
        if now() - t0 > o["budgetMs"] / 10:
            break
    times = []
    spent = 0.0
    while len(times) < o["iterations"]:
        t0 = now()
        step()
        dt = now() - t0
        times.append(dt)
        spent += dt
        if len(times) >= o["minIterations"] and spent + spent / len(times) > o["budgetMs"]:
            break
    return times


def main():
    if sys.argv[1:] == ["--info"]:
        print(json.dumps(info()))
        return
    req = json.load(sys.stdin)
    torch.set_num_threads(req["threads"])
    tensors = {name: load(spec) for name, spec in req["tensors"].items()}
    step, outputs = build(req["workload"], tensors)
    answer = {"threads": torch.get_num_threads()}
    if req["action"] == "time":
        answer["times"] = measure(step, req["measure"])
    elif req["action"] == "losses":
        answer["losses"] = [step() for _ in range(req["steps"])]
    elif req["action"] == "outputs":
        if outputs is None:
            raise ValueError(f"{req['workload']} has no outputs to compare")
        answer["outputs"] = {}
        for name, value in outputs().items():
            path = f"{req['outDir']}/out.{name}.f32"
            value.detach().contiguous().numpy().astype(np.float32).tofile(path)
            answer["outputs"][name] = {"file": path, "length": value.numel()}
    else:
        raise ValueError(f"unknown action {req['action']}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
