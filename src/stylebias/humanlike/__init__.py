"""Human-likeness benchmark pieces: model-vs-human's twelve parametric distortions."""

from .distortions import DISTORTIONS, Distortion, distort

__all__ = ["DISTORTIONS", "Distortion", "distort"]
