"""Smoke run of docs/interop.md's DDP snippet (needs torch; CI does not run this): loads a
safetensors LeNet-5, trains 2 epochs with DistributedDataParallel on synthetic data (no
torchvision needed), and writes the weights back as safetensors for dagrad.

Two processes on one machine (gloo), started by hand (Debian's torch 1.13 torchrun fails
under Python 3.11):

    cd /tmp && for r in 0 1; do MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 WORLD_SIZE=2 RANK=$r \\
      /usr/bin/python3 /path/to/dagrad/test/interop/scripts/ddp_smoke.py \\
      /path/to/dagrad/test/interop/fixtures/torch-lenet5.safetensors lenet5-ddp.safetensors & done; wait
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from torch_lenet5_safetensors import LeNet5, load_file, save_file

src, dst = sys.argv[1], sys.argv[2]
dist.init_process_group("gloo")
model = LeNet5()
model.load_state_dict(load_file(src))
ddp = DDP(model)
g = torch.Generator().manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(256, 1, 28, 28, generator=g), torch.randint(0, 10, (256,), generator=g))
loader = torch.utils.data.DataLoader(data, batch_size=64, sampler=torch.utils.data.DistributedSampler(data))
opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
for epoch in range(2):
    loader.sampler.set_epoch(epoch)
    for x, y in loader:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ddp(x), y)
        loss.backward()
        opt.step()
    print("rank", dist.get_rank(), "epoch", epoch, "loss", loss.item())
if dist.get_rank() == 0:
    save_file(model.state_dict(), dst, {"format": "pt"})
dist.destroy_process_group()
