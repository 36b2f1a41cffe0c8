"""AAE priors p(z) (Makhzani et al. 2016, section 2): what the aggregated posterior q(z) is matched to.

Each prior draws from a `draws` object (`ganzoo.engine.draws`): in training
from the model's noise, standalone from a numpy seed.

* "gaussian": N(0, I) in any dimension.
* "mixture10": a mixture of 10 2-D Gaussians, the paper's figure 4 prior:
  components on a circle of radius 4 at angles 2*pi*i/10, each elongated
  along its radius (std 1.0 radially, 0.2 tangentially); optionally the
  component is the class (`sample_for_labels`), for the supervised setting.
* "swiss_roll": 2-D, t ~ U(0, 1), angle 3*pi*t, radius 1 + 4*t (paper figure 4).

Example:
    >>> z = get("mixture10").sample(NumpyDraws(0), 512)
    >>> tuple(z.shape)
    (512, 2)
"""

import difflib
import math

from keras import ops


class Prior:
    """A latent prior: `sample(draws, n)` -> (n, dim) float32."""

    name = "prior"
    dim = None

    def sample(self, draws, n, dim=None):
        raise NotImplementedError

    def check_dim(self, dim):
        if self.dim is not None and int(dim) != self.dim:
            raise ValueError(f"The {self.name} prior is {self.dim}-D; build the AAE with latent_dim={self.dim}.")


class Gaussian(Prior):
    """N(0, I)."""

    name = "gaussian"

    def sample(self, draws, n, dim=None):
        return draws.normal((n, int(dim)))


class Mixture10(Prior):
    """10 elongated 2-D Gaussians on a circle (radius 4)."""

    name, dim = "mixture10", 2
    COMPONENTS, RADIUS, RADIAL_STD, TANGENTIAL_STD = 10, 4.0, 1.0, 0.2

    def _place(self, draws, component, n):
        angle = ops.cast(component, "float32") * (2.0 * math.pi / self.COMPONENTS)
        e = draws.normal((n, 2))
        radial = self.RADIUS + self.RADIAL_STD * e[:, 0]
        tangential = self.TANGENTIAL_STD * e[:, 1]
        c, s = ops.cos(angle), ops.sin(angle)
        return ops.stack([radial * c - tangential * s, radial * s + tangential * c], axis=1)

    def sample(self, draws, n, dim=None):
        component = ops.minimum(ops.floor(draws.uniform((n,)) * self.COMPONENTS), self.COMPONENTS - 1)
        return self._place(draws, component, n)

    def sample_for_labels(self, draws, labels):
        """Samples of the components given by `labels` (the supervised AAE's class-to-mode prior)."""
        return self._place(draws, labels, ops.shape(labels)[0])


class SwissRoll(Prior):
    """The 2-D swiss roll."""

    name, dim = "swiss_roll", 2

    def sample(self, draws, n, dim=None):
        t = draws.uniform((n,))
        angle, radius = 3.0 * math.pi * t, 1.0 + 4.0 * t
        noise = 0.05 * draws.normal((n, 2))
        return ops.stack([radius * ops.cos(angle), radius * ops.sin(angle)], axis=1) + noise


PRIORS = {p.name: p for p in (Gaussian, Mixture10, SwissRoll)}


def get(name):
    """A prior by name ("gaussian", "mixture10", "swiss_roll").

    Example:
        >>> get("gaussian").name
        'gaussian'
    """
    if isinstance(name, Prior):
        return name
    if name not in PRIORS:
        close = difflib.get_close_matches(str(name), PRIORS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown AAE prior {name!r}; valid: {', '.join(PRIORS)}.{hint}")
    return PRIORS[name]()
