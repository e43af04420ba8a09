"""BioroboticsLab/IBA's per-sample bottleneck (``IBA/pytorch.py``) and eclique/RISE's causal
metric (``evaluation.py``), re-expressed one image at a time as the references run them.

The noise comes from an explicit generator instead of the global RNG; everything else follows
the reference line by line (Welford loop, kernel construction, Adam on one ``alpha``, the
capacity of the last forward pass, pixel-by-pixel deletion).
"""

import numpy as np
import torch
import torch.nn as nn


def welford(samples):
    """The reference ``WelfordEstimator``: one sample at a time."""
    m = torch.zeros_like(samples[0])
    s = torch.zeros_like(samples[0])
    nonzero = torch.zeros_like(samples[0], dtype=torch.long)
    n = 0
    for xi in samples:
        nonzero += (xi != 0.0).long()
        old_m = m.clone()
        m = m + (xi - m) / (n + 1)
        s = s + (xi - m) * (xi - old_m)
        n += 1
    std = torch.sqrt(s / (n - 1))
    return m, std, nonzero.float() / n


def reference_kernel(sigma, channels):
    kernel_size = int(round(2 * sigma)) * 2 + 1
    variance = sigma**2.0
    x_cord = torch.arange(kernel_size, dtype=torch.float)
    x_grid = x_cord.repeat(kernel_size).view(kernel_size, kernel_size)
    y_grid = x_grid.t()
    xy_grid = torch.stack([x_grid, y_grid], dim=-1)
    mean_xy = (kernel_size - 1) / 2.0
    kernel_2d = (1.0 / (2.0 * np.pi * variance)) * torch.exp(-torch.sum((xy_grid - mean_xy) ** 2.0, dim=-1) / (2 * variance))
    kernel_2d = kernel_2d / kernel_2d.sum()
    conv = nn.Conv2d(channels, channels, padding=0, kernel_size=kernel_size, groups=channels, bias=False)
    conv.weight.data.copy_(kernel_2d.expand(channels, 1, -1, -1))
    conv.weight.requires_grad = False
    return nn.Sequential(nn.ReflectionPad2d((kernel_size - 1) // 2), conv)


class Bottleneck(nn.Module):
    """``PerSampleBottleneck._do_restrict_information`` with the noise from ``generator``."""

    def __init__(self, mean, std, active, sigma, initial_alpha, generator):
        super().__init__()
        c, h, w = mean.shape
        self.alpha = nn.Parameter(initial_alpha * torch.ones(c, h, w))
        self.smooth = reference_kernel(sigma, c) if sigma else None
        self.mean, self.std, self.active = mean, std, active
        self.generator = generator
        self.buffer_capacity = None

    def forward(self, x):
        lamb = torch.sigmoid(self.alpha).expand(x.shape[0], x.shape[1], -1, -1)
        lamb = self.smooth(lamb) if self.smooth is not None else lamb
        x_norm = (x - self.mean) / self.std
        var = (1 - lamb) ** 2
        log_var = torch.log(var)
        mu = x_norm * lamb
        eps = torch.randn(mu.size(), generator=self.generator)
        z_norm = x_norm * lamb + (1 - lamb) * eps
        self.buffer_capacity = -0.5 * (1 + log_var - mu**2 - log_var.exp()) * self.active
        z = z_norm * self.std + self.mean
        z *= self.active
        return z


def heatmap(head, tail, image, target, mean, std, active, *, generator, beta=10, steps=10, lr=1,
            batch_size=10, initial_alpha=5.0, sigma=1.0, min_std=0.01):
    """``PerSampleBottleneck.heatmap`` for a model ``tail(bottleneck(head(x)))``; returns the
    capacity of the last forward pass (nats, (C, h, w)) and the bits heatmap before resizing."""
    btl = Bottleneck(mean, torch.max(std, min_std * torch.ones_like(std)), (active > 0.01).float(),
                     sigma, initial_alpha, generator)
    model = nn.Sequential(head, btl, tail)
    batch = image.expand(batch_size, -1, -1, -1)
    optimizer = torch.optim.Adam(lr=lr, params=[btl.alpha])
    for _ in range(steps):
        optimizer.zero_grad()
        model_loss = -torch.log_softmax(model(batch), 1)[:, target].mean()
        information_loss = btl.buffer_capacity.mean()
        loss = model_loss + beta * information_loss
        loss.backward()
        optimizer.step()
    cap = btl.buffer_capacity[0].detach()
    return cap, torch.nansum(cap, 0) / float(np.log(2))


def rise_curve(model, image, explanation, target, substrate, step, mode):
    """``CausalMetric.single_run`` of RISE, with an explicit target and probabilities from a
    softmax over the model's logits."""
    _, c, h, w = image.shape
    hw = h * w
    n_steps = (hw + step - 1) // step
    if mode == "del":
        start, finish = image.clone(), substrate(image)
    else:
        start, finish = substrate(image), image.clone()
    scores = np.empty(n_steps + 1)
    # most salient first; the stable descending order (ties by index) as torch gives it
    salient_order = np.argsort(-explanation.reshape(-1, hw).numpy(), axis=1, kind="stable")
    for i in range(n_steps + 1):
        with torch.no_grad():
            pred = torch.softmax(model(start), 1)
        scores[i] = float(pred[0, target])
        if i < n_steps:
            coords = salient_order[:, step * i: step * (i + 1)]
            flat = start.numpy().reshape(1, c, hw)
            flat[0, :, coords] = finish.numpy().reshape(1, c, hw)[0, :, coords]
            start = torch.from_numpy(flat.reshape(1, c, h, w).copy())
    return scores


def rise_auc(arr):
    return (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)
