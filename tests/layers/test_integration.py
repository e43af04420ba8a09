"""The layers inside real training set-ups: torch.compile, DDP (gloo), torch.export and ONNX."""

import copy
import os

import pytest
import torch
import torch.distributed as dist
from torch import nn

import stylebias
from stylebias.layers import list_style_layers
from tests.conftest import run_ranks

RANDOM = [n for n in list_style_layers() if n != "adversarial_style"]


def tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )


@pytest.mark.parametrize("name", RANDOM)
def test_torch_compile_matches_eager(name):
    x = torch.randn(4, 3, 8, 8)
    layer_x = torch.randn(4, 8, 8, 8)
    eager = stylebias.create_style_layer(name, p=1.0).train()
    params = eager.sample_params(layer_x, torch.Generator().manual_seed(0))
    compiled = torch.compile(eager, backend="aot_eager", fullgraph=False)
    torch.testing.assert_close(compiled(layer_x, params), eager(layer_x, params))
    # a whole model with an attached layer compiles, trains a step and stays finite
    net = tiny_net().train()
    stylebias.attach(net, name, after=["2"], p=1.0, generator=torch.Generator().manual_seed(0))
    out = torch.compile(net, backend="aot_eager")(x)
    out.sum().backward()
    assert torch.isfinite(out).all() and all(torch.isfinite(p.grad).all() for p in net.parameters())


def _export_ops(model, x):
    program = torch.export.export(model.eval(), (x,))
    return [str(n.target) for n in program.graph.nodes if n.op == "call_function"]


def test_eval_model_exports_as_if_the_layers_were_not_there():
    x = torch.randn(2, 3, 8, 8)
    plain = tiny_net()
    styled = copy.deepcopy(plain)
    for name in list_style_layers():
        stylebias.attach(styled, name, after=["0", "2"])
    assert _export_ops(styled, x) == _export_ops(plain, x)


def test_onnx_export_with_attached_layers():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    x = torch.randn(2, 3, 8, 8)
    plain = tiny_net().eval()
    styled = copy.deepcopy(plain)
    stylebias.attach(styled, "mixstyle", after=["2"])
    stylebias.attach(styled, "padain", preset="convs")
    plain_onnx = torch.onnx.export(plain, (x,), dynamo=True, verbose=False)
    styled_onnx = torch.onnx.export(styled, (x,), dynamo=True, verbose=False)
    ops = lambda prog: [n.op_type for n in prog.model_proto.graph.node]  # noqa: E731
    assert ops(styled_onnx) == ops(plain_onnx)


def _ddp_worker(rank, world, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        net = tiny_net()
        stylebias.attach(net, "mixstyle", after=["2"], p=1.0, mix="crossdomain",
                         generator=torch.Generator().manual_seed(rank))
        stylebias.attach(net, "efdmix", after=["0"], p=0.5, generator=torch.Generator().manual_seed(rank))
        model = nn.parallel.DistributedDataParallel(net)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(100 + rank)
        for _ in range(3):
            x, y = torch.randn(5, 3, 8, 8, generator=g), torch.randint(4, (5,), generator=g)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        flat = torch.cat([p.detach().flatten() for p in net.parameters()])
        results[rank] = flat
    finally:
        dist.destroy_process_group()


def test_ddp_training_with_attached_layers_keeps_replicas_in_sync():
    results = run_ranks(_ddp_worker)
    assert torch.isfinite(results[0]).all()
    torch.testing.assert_close(results[0], results[1])  # identical weights after 3 steps
