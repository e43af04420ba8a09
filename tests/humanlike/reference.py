"""Geirhos et al. (2018)'s image manipulations re-expressed in NumPy/SciPy, one image at a time.

Written from rgeirhos/generalisation-humans-DNNs ``code/image_manipulation.py`` and, for the
eidolons, gestaltrevision/Eidolon (``picture.py``, ``scalespaces.py``, ``noise.py``,
``helpers.py``, with its pull request #1) as ``code/wrapper.py`` calls it. Images are
``(H, W, 3)`` float64 in [0, 1]; grey results are ``(H, W)``. Randomness is passed in, so the
tests can give the reference and the torch port the same draws. The eidolon reference keeps
values in float (no 8-bit round trip, no resize to 256), as the port does.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fftpack
from scipy.ndimage import gaussian_filter
from skimage.color import rgb2gray

BG_GREY = 0.4423


def contrast(image, level):
    return (1 - level) / 2.0 + rgb2gray(image).dot(level)


def low_pass(image, std):
    out = gaussian_filter(rgb2gray(image), std, mode="constant", cval=BG_GREY)
    return np.clip(out, 0, 1)


def high_pass(image, std):
    grey = rgb2gray(image)
    detail = grey - gaussian_filter(grey, std, mode="constant", cval=BG_GREY)
    detail = detail + (BG_GREY - np.mean(detail, axis=(0, 1)))
    return np.clip(detail, 0, 1)


def phase_scramble(image, shifts):
    """``shifts``: the (H-1)(W-1)//2 phase shifts in radians (the reference draws them)."""
    f = fftpack.fftshift(fftpack.fft2(rgb2gray(image)))
    amplitude, phase = np.abs(f), np.angle(f)
    inner = phase[1:, 1:].flatten()
    n = inner.shape[0]
    inner[: n // 2] += shifts
    inner[n // 2 + 1 :] -= shifts
    phase[1:, 1:] = inner.reshape(phase[1:, 1:].shape)
    out = fftpack.ifft2(fftpack.ifftshift(amplitude * np.exp(1j * phase))).real
    return np.clip(out, 0, 1)


def power_equalise(image, spectrum):
    f = fftpack.fftshift(fftpack.fft2(rgb2gray(image)))
    out = fftpack.ifft2(fftpack.ifftshift(spectrum * np.exp(1j * np.angle(f)))).real
    return np.clip(out, 0, 1)


_M = np.array(
    [
        [0.1619982647, 0.208049264, 0.0389347448],
        [0.0330275785, 0.2496504557, 0.0618343518],
        [0.0015524055, 0.0198861001, 0.1890224274],
    ]
)
_N = np.array([[9.27590805, 9.27590805, 0], [7.86421647, -9.33587662, 0], [-3.39709047, -3.39709047, 12.16230246]])
_WHITE = [0.20449114, 0.17225619, 0.10523047]


def false_colour(image, gamma):
    """``gamma``: the (256,) monitor curve. Step by step as the reference, one argmin per value
    (``np.vectorize``, as the reference: slow, which the benchmark should show)."""
    levels = (image * 255).astype(np.uint8)
    linear = gamma[levels]
    cones = np.einsum("ij,klj->kli", _M, linear) - _WHITE
    dkl = np.einsum("ij,klj->kli", _N, cones)
    dkl[:, :, 1] *= -1
    dkl[:, :, 2] *= -1
    cones = np.einsum("ij,klj->kli", np.linalg.inv(_N), dkl) + _WHITE
    rgb = np.clip(np.einsum("ij,klj->kli", np.linalg.inv(_M), cones), 0, 1)
    nearest = np.vectorize(lambda value: np.abs(gamma - value).argmin())
    return nearest(rgb) / 255


def rotate(image, angle):
    grey = rgb2gray(image)
    if angle == 90:
        return np.transpose(grey, axes=(1, 0))[::-1, :]
    if angle == 180:
        return grey[::-1, ::-1]
    if angle == 270:
        return np.transpose(grey[::-1, :], axes=(1, 0))
    return grey


def uniform_noise(image, noise, contrast_level=0.3):
    return np.clip(contrast(image, contrast_level) + noise, 0, 1)


# ----- eidolon factory ---------------------------------------------------------------------


def _pow2_ceiling(n):
    e = math.log(n) / math.log(2)
    return int(n) if e == int(e) else int(2 ** math.ceil(e))


def eidolon_geometry(h, w):
    size = max(h, w)
    hh, ww = _pow2_ceiling(h * 3 / 2.0), _pow2_ceiling(w * 3 / 2.0)
    max_sigma = size / 4.0
    count = int(math.ceil(2 * math.log(max_sigma) / math.log(2)))
    sigmas = np.zeros(count)
    sigmas[0] = 1 / math.sqrt(2)
    for i in range(1, count):
        sigmas[i] = math.sqrt(2) * sigmas[i - 1]
    return hh, ww, int((hh - h) / 2.0), int((ww - w) / 2.0), max_sigma, sigmas


def _embed(plane, hh, ww, dh, dw):
    h, w = plane.shape
    fat = np.zeros((hh, ww))
    fat[dh : h + dh, 0:dw] = np.fliplr(plane[:, 0:dw])
    fat[dh : h + dh, dw : dw + w] = plane
    fat[dh : h + dh, ww - dw : ww] = np.fliplr(plane[:, w - dw : w])
    fat[0:dh, :] = np.flipud(fat[dh : 2 * dh, :])
    fat[hh - dh : hh, :] = np.flipud(fat[hh - 2 * dh : hh - dh, :])
    return fat


def _kernel(w, h, sigma):
    def gauss(x):
        return np.exp(-(x**2) / (2.0 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)

    v = np.array(list(range(h // 2 + 1)) + list(range(h // 2 - h + 1, 0)))
    u = np.array(list(range(w // 2 + 1)) + list(range(w // 2 - w + 1, 0)))
    return gauss(u) * gauss(v)[:, np.newaxis]


def _convolve(plane, kernel):
    h, w = plane.shape
    return np.fft.irfft(np.fft.rfft(plane.flatten()) * np.fft.rfft(kernel.flatten())).reshape(h, w)


def _blurred_noise(normal, sigma):
    h, w = normal.shape
    data = 127.5 * normal / np.max(np.abs(normal))
    data[data < -127] = -127
    data[data > 127] = 127
    c = _convolve(data, _kernel(w, h, sigma))
    return c - np.mean(c) / np.sqrt(np.var(c))


def eidolon(grey, reach, coherence, grain, normals):
    """``grey``: (H, W) in [0, 1]. ``normals``: (2, 2, levels, hh, ww) standard normal planes,
    [axis (rows, columns)][part (coherent, incoherent)][level]. Returns (H, W) clipped."""
    h, w = grey.shape
    hh, ww, dh, dw, max_sigma, sigmas = eidolon_geometry(h, w)
    fat = _embed(grey, hh, ww, dh, dw)
    n = len(sigmas)
    blurs = [_convolve(fat, _kernel(ww, hh, s)) for s in sigmas]
    dogs = [blurs[k] - blurs[k + 1] for k in range(n - 1)] + [blurs[-1]]
    fields = []
    for axis in range(2):
        scaled = [_blurred_noise(normals[axis, 0, k], sigmas[k]) * (sigmas[k] / max_sigma) for k in range(n)]
        coherent = [np.sum(scaled[k:], axis=0) for k in range(n)]
        incoherent = [_blurred_noise(normals[axis, 1, k], grain) for k in range(n)]
        fields.append([(1 - coherence) * incoherent[k] + coherence * coherent[k] for k in range(n)])
    grid = np.indices((hh, ww))
    out = np.zeros((hh, ww))
    for k in range(n):
        rows = np.clip(fields[0][k] * reach + grid[0], 0, hh - 1).astype(int)
        cols = np.clip(fields[1][k] * reach + grid[1], 0, ww - 1).astype(int)
        out += dogs[k][rows, cols]
    return np.clip(out[dh : dh + h, dw : dw + w], 0, 1)
