"""The published reference implementations, re-expressed with the randomness passed in.

Each function follows its repository line by line (only the random draws became arguments),
so tests can compare stylebias against the numbers the papers' code produces:

* naoto0804/pytorch-AdaIN ``function.py`` (calc_mean_std, adaptive_instance_normalization)
* onuriel/PermutedAdaIN ``permutedAdaIN.py``
* KaiyangZhou/mixstyle-release ``imcls/models/mixstyle.py`` (MixStyle, MixStyle2)
* YBZh/EFDM ``DomainGeneralization/reid/models/efdmix.py``
* lixiaotong97/DSU ``dsu.py`` (DistributionUncertainty)
* azshue/AdvBN ``train_imagenet.py`` (perturb) and ``utils/utils.py`` (calc_mean_std)
"""

from __future__ import annotations

import torch


def adain_calc_mean_std(feat, eps=1e-5):
    size = feat.size()
    n, c = size[:2]
    feat_var = feat.view(n, c, -1).var(dim=2) + eps
    feat_std = feat_var.sqrt().view(n, c, 1, 1)
    feat_mean = feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return feat_mean, feat_std


def ref_adain(content_feat, style_feat):
    size = content_feat.size()
    style_mean, style_std = adain_calc_mean_std(style_feat)
    content_mean, content_std = adain_calc_mean_std(content_feat)
    normalized_feat = (content_feat - content_mean.expand(size)) / content_std.expand(size)
    return normalized_feat * style_std.expand(size) + style_mean.expand(size)


def _padain_calc_mean_std(feat, eps=1e-5):
    n, c = feat.size()[:2]
    feat_std = torch.sqrt(feat.view(n, c, -1).var(dim=2).view(n, c, 1, 1) + eps)
    feat_mean = feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return feat_mean, feat_std


def ref_permuted_adain(x, perm, eps=1e-5):
    content_feat, style_feat = x, x[perm]
    size = content_feat.size()
    style_mean, style_std = _padain_calc_mean_std(style_feat.detach(), eps)
    content_mean, content_std = _padain_calc_mean_std(content_feat, eps)
    content_std = content_std + eps
    normalized_feat = (content_feat - content_mean.expand(size)) / content_std.expand(size)
    return normalized_feat * style_std.expand(size) + style_mean.expand(size)


def ref_mixstyle(x, perm, lam, eps=1e-6):
    b = x.size(0)
    mu = x.mean(dim=[2, 3], keepdim=True)
    var = x.var(dim=[2, 3], keepdim=True)
    sig = (var + eps).sqrt()
    mu, sig = mu.detach(), sig.detach()
    x_normed = (x - mu) / sig
    lmda = lam.view(b, 1, 1, 1)
    mu2, sig2 = mu[perm], sig[perm]
    mu_mix = mu * lmda + mu2 * (1 - lmda)
    sig_mix = sig * lmda + sig2 * (1 - lmda)
    return x_normed * sig_mix + mu_mix


def ref_mixstyle_crossdomain_perm(b, g):
    """MixStyle2's draw of the partner index (only defined for even b)."""
    perm = torch.arange(b - 1, -1, -1)
    perm_b, perm_a = perm.chunk(2)
    perm_b = perm_b[torch.randperm(b // 2, generator=g)]
    perm_a = perm_a[torch.randperm(b // 2, generator=g)]
    return torch.cat([perm_b, perm_a], 0)


def ref_efdmix(x, perm, lam):
    b, c, w, h = x.size(0), x.size(1), x.size(2), x.size(3)
    x_view = x.view(b, c, -1)
    value_x, index_x = torch.sort(x_view)
    lmda = lam.view(b, 1, 1)
    inverse_index = index_x.argsort(-1)
    x_view_copy = value_x[perm].gather(-1, inverse_index) * (1 - lmda)
    new_x = x_view + (x_view_copy - x_view.detach() * (1 - lmda))
    return new_x.view(b, c, w, h)


def ref_dsu(x, noise_mu, noise_sigma, eps=1e-6, factor=1.0):
    def sqrtvar(t):
        s = (t.var(dim=0, keepdim=True) + eps).sqrt()
        return s.repeat(t.shape[0], 1)

    mean = x.mean(dim=[2, 3], keepdim=False)
    std = (x.var(dim=[2, 3], keepdim=False) + eps).sqrt()
    sqrtvar_mu = sqrtvar(mean)
    sqrtvar_std = sqrtvar(std)
    beta = mean + noise_mu * factor * sqrtvar_mu
    gamma = std + noise_sigma * factor * sqrtvar_std
    b, c = x.shape[:2]
    x = (x - mean.reshape(b, c, 1, 1)) / std.reshape(b, c, 1, 1)
    return x * gamma.reshape(b, c, 1, 1) + beta.reshape(b, c, 1, 1)


def advbn_calc_mean_std(feat, eps=1e-5):
    c = feat.size()[1]
    feat_mean = feat.permute(1, 0, 2, 3).reshape(c, -1).mean(dim=1).view(1, c, 1, 1)
    feat_var = feat.permute(1, 0, 2, 3).reshape(c, -1).var(dim=1) + eps
    return feat_mean, feat_var.sqrt().view(1, c, 1, 1)


def ref_advbn_feature(feature, noise_batch_mean, noise_batch_std):
    """The perturbed feature of AdvBN's ``perturb`` for given noise (before its ReLU clamp)."""
    ori_mean, _ = advbn_calc_mean_std(feature)
    normalized_feature = (feature - ori_mean).detach()
    new_mean = ori_mean * noise_batch_mean
    new_std = noise_batch_std
    return normalized_feature * new_std + new_mean
