"""PyTorch side of the safetensors interop check (needs torch; CI does not run this).

1. Loads a dagrad-written safetensors file into the torch.nn LeNet-5 of docs/interop.md with
   load_state_dict(strict=True), runs a fixed random input through it, and records input and
   output (dagrad must reproduce the output from the same file).
2. Writes torch's own freshly initialised LeNet-5 as safetensors (for dagrad to load) and
   records that model's output on the same input.

Safetensors is read and written with plain struct/json (Debian has no python3-safetensors);
the layout is the spec's: 8-byte LE header length, JSON header, raw LE data.

    npx tsx test/interop/scripts/write-lenet5-safetensors.ts /tmp/dagrad-lenet5.safetensors
    /usr/bin/python3 test/interop/scripts/torch_lenet5_safetensors.py /tmp/dagrad-lenet5.safetensors test/interop/fixtures
"""
import hashlib
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}


def load_file(path):
    """safetensors.torch.load_file, in plain Python."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        b, f = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:f]), dtype=DTYPES[e["dtype"]]) if f > b else torch.empty(0, dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def save_file(tensors, path, metadata=None):
    """safetensors.torch.save_file, in plain Python (header padded to 8 bytes with spaces)."""
    names = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64"}
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in sorted(tensors.items()):
        b = t.detach().contiguous().numpy().tobytes()  # little-endian hosts (x86, arm)
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(js)) + js + b"".join(chunks))


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    x = torch.randn(3, 1, 28, 28)

    model = LeNet5().eval()
    result = model.load_state_dict(load_file(src), strict=True)
    with torch.no_grad():
        y_dagrad_weights = model(x)

    torch.manual_seed(1)
    theirs = LeNet5().eval()
    save_file(theirs.state_dict(), f"{outdir}/torch-lenet5.safetensors", {"format": "pt"})
    with torch.no_grad():
        y_torch_weights = theirs(x)

    doc = {
        "torch_version": torch.__version__,
        "module": repr(model),
        "state_dict_keys": list(model.state_dict().keys()),
        "load_state_dict": {"missing_keys": result.missing_keys, "unexpected_keys": result.unexpected_keys},
        "dagrad_file_sha256": hashlib.sha256(open(src, "rb").read()).hexdigest(),
        "input": {"shape": list(x.shape), "data": x.flatten().tolist()},
        "output_with_dagrad_weights": {"shape": list(y_dagrad_weights.shape), "data": y_dagrad_weights.flatten().tolist()},
        "output_with_torch_weights": {"shape": list(y_torch_weights.shape), "data": y_torch_weights.flatten().tolist()},
    }
    with open(f"{outdir}/lenet5-safetensors-torch.json", "w") as fh:
        json.dump(doc, fh)
    print(json.dumps({k: doc[k] for k in ("torch_version", "load_state_dict", "dagrad_file_sha256")}))


if __name__ == "__main__":
    main()
