"""The eight image transforms of Random Anomaly Detection (docs/method.md §4), in plain torch.

Each takes a batch (B, 1, S, S) of images in [0, 1] and a torch.Generator and returns a new
batch of the same shape, drawing its own random parameters per image. They follow the
torchvision transforms the paper names (no torchvision here): RandomPerspective(distortion),
RandomErasing(scale=(0.1, 0.2), ratio=(0.3, 3.3), value=0), GaussianNoise(std=0.01, clip),
GaussianBlur(kernel 15, sigma in (0.1, 2)), adjust_sharpness(factor 4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def baseline(img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return img.clone()


def _u(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def perspective(img: torch.Tensor, g: torch.Generator, distortion: float) -> torch.Tensor:
    """Move each corner inward by up to `distortion` x half the side; warp with a homography."""
    b, _, s, _ = img.shape
    top = distortion * (s // 2)
    last = float(s - 1)
    corners = torch.tensor([[0.0, 0.0], [last, 0.0], [last, last], [0.0, last]], dtype=torch.float64)
    inward = torch.tensor([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=torch.float64)
    shift = _u(b * 8, 0.0, top, g).view(b, 4, 2)
    ends = corners + inward * shift  # (B, 4, 2) where the corners go
    # Coefficients that map an output pixel (on `ends`) back to the input pixel (on `corners`),
    # as torchvision's _get_perspective_coeffs(endpoints, startpoints) does.
    ex, ey = ends[..., 0], ends[..., 1]  # (B, 4)
    sx, sy = corners[:, 0].expand(b, 4), corners[:, 1].expand(b, 4)
    zero, one = torch.zeros_like(ex), torch.ones_like(ex)
    rows_x = torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1)
    rows_y = torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1)
    a = torch.cat([rows_x, rows_y], 1)  # (B, 8, 8)
    rhs = torch.cat([sx, sy], 1)  # (B, 8)
    c = torch.linalg.solve(a, rhs)  # (B, 8)
    ys, xs = torch.meshgrid(torch.arange(s, dtype=torch.float64), torch.arange(s, dtype=torch.float64), indexing="ij")
    xs, ys = xs.reshape(1, -1), ys.reshape(1, -1)  # (1, S*S)
    den = c[:, 6:7] * xs + c[:, 7:8] * ys + 1.0
    src_x = (c[:, 0:1] * xs + c[:, 1:2] * ys + c[:, 2:3]) / den  # (B, S*S)
    src_y = (c[:, 3:4] * xs + c[:, 4:5] * ys + c[:, 5:6]) / den
    grid = torch.stack([src_x, src_y], -1).view(b, s, s, 2) * (2.0 / last) - 1.0
    return F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def perspective_05(img, g):
    return perspective(img, g, 0.5)


def perspective_09(img, g):
    return perspective(img, g, 0.9)


def random_erase(img: torch.Tensor, g: torch.Generator, scale=(0.1, 0.2), ratio=(0.3, 3.3)) -> torch.Tensor:
    """Zero one rectangle covering 10-20 % of the image, aspect ratio log-uniform in (0.3, 3.3)."""
    b, _, s, _ = img.shape
    area = s * s * _u(b, *scale, g)
    log_r = _u(b, math.log(ratio[0]), math.log(ratio[1]), g).exp()
    h = (area * log_r).sqrt().round().clamp(1, s).long()
    w = (area / log_r).sqrt().round().clamp(1, s).long()
    top = (torch.rand(b, generator=g, dtype=torch.float64) * (s - h + 1)).floor().long()
    left = (torch.rand(b, generator=g, dtype=torch.float64) * (s - w + 1)).floor().long()
    r = torch.arange(s)
    rows = (r >= top[:, None]) & (r < (top + h)[:, None])  # (B, S)
    cols = (r >= left[:, None]) & (r < (left + w)[:, None])  # (B, S)
    hole = rows[:, :, None] & cols[:, None, :]  # (B, S, S)
    return img.masked_fill(hole[:, None], 0.0)


def gaussian_noise(img: torch.Tensor, g: torch.Generator, std: float = 0.01) -> torch.Tensor:
    noise = torch.randn(img.shape, generator=g, dtype=img.dtype)
    return (img + std * noise).clamp(0.0, 1.0)


def erase_then_perspective(img, g):
    return perspective(random_erase(img, g), g, 0.5)


def gaussian_blur(img: torch.Tensor, g: torch.Generator, kernel: int = 15, sigma=(0.1, 2.0)) -> torch.Tensor:
    """Separable Gaussian blur, one sigma per image, reflect padding (as torchvision)."""
    b, _, s, _ = img.shape
    sig = _u(b, *sigma, g).to(img.dtype)
    half = kernel // 2
    x = torch.arange(-half, half + 1, dtype=img.dtype)
    k = torch.exp(-0.5 * (x[None] / sig[:, None]) ** 2)
    k = k / k.sum(1, keepdim=True)  # (B, K)
    pad = half if s > half else s - 1
    if pad < half:  # reflect padding needs side > half; crop the kernel for tiny images
        k = k[:, half - pad : half + pad + 1]
        k = k / k.sum(1, keepdim=True)
    out = F.pad(img.view(1, b, s, s), (pad, pad, pad, pad), mode="reflect")
    out = F.conv2d(out, k.view(b, 1, 1, -1), groups=b)  # along width
    out = F.conv2d(out, k.view(b, 1, -1, 1), groups=b)  # along height
    return out.view(b, 1, s, s)


def sharpness(img: torch.Tensor, g: torch.Generator, factor: float = 4.0) -> torch.Tensor:
    """Blend with a smoothed copy: factor*img + (1-factor)*smooth, borders unsmoothed (torchvision)."""
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=img.dtype) / 13.0
    smooth = img.clone()
    smooth[:, :, 1:-1, 1:-1] = F.conv2d(img, k.view(1, 1, 3, 3))
    return (factor * img + (1.0 - factor) * smooth).clamp(0.0, 1.0)


TRANSFORMS = {
    "baseline": baseline,
    "perspective_0.5": perspective_05,
    "perspective_0.9": perspective_09,
    "random_erase": random_erase,
    "gaussian_noise": gaussian_noise,
    "erase_then_perspective_0.5": erase_then_perspective,
    "gaussian_blur_15": gaussian_blur,
    "sharpness_4": sharpness,
}
"""The paper's eight transforms, in its order; RAD draws two distinct ones per sequence."""
TRANSFORM_NAMES = tuple(TRANSFORMS)
