"""`Phase`: one entry of a GAN's training schedule, as data.

A training step runs the model's phase list in order (the shape of
NVIDIA's stylegan2-ada `training_loop.py` phase list). Each phase names
the networks it trains, the optimizer that updates them, the loss it
minimises, how often it runs and what runs after its update. Families
change the schedule by returning another list from `GAN.phases()`; the
loop itself is the engine's.

Example:
    >>> Phase("discriminator", networks=("discriminator",), optimizer="discriminator",
    ...       loss=gan.discriminator_loss, repeat=5, logs=("d_loss", "d_real", "d_fake"))
    >>> Phase("ema", after=(gan.update_ema,))        # a hook-only phase: no update
"""

import dataclasses
from typing import Callable, Optional, Tuple

FAKES = ("detached", "live", "none", "shared")


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of the training step.

    Args:
        name: the phase's name (unique in a schedule).
        networks: names of the networks whose trainable variables the phase
            updates (attributes of the model, listed by `network_names()`).
        optimizer: name of the optimizer (a key of `compile(optimizers=...)`).
        loss: `loss(real, fake) -> (scalar, logs)`; `real` is the step's batch
            dict, `fake` what `sample_fakes(real)` returned (None when
            `fakes="none"`).
        every: run on steps divisible by `every` (lazy regularization).
        repeat: run this many times in a row each time (k D steps).
        after: hooks `hook(real, fake, logs)` run after each update (weight
            clipping, EMA, control variables such as BEGAN's k).
        fakes: "detached" (drawn without gradients before the loss: the
            phase does not train the generator), "live" (drawn inside the
            differentiated loss, so gradients reach G), "shared" (the fakes
            the nearest earlier "detached" phase drew in this step, same
            latents, with gradients reaching G through that draw: G's forward
            pass runs once for both phases, as in the pytorch/examples DCGAN
            loop) or "none".
        logs: the names this phase logs (progress bar, History); a loss that
            returns another name is an error.
        total_log: the log that holds the phase's total loss; the engine
            writes the loss plus the trained networks' own losses there.
        network_losses: add `sum(net.losses)` of the trained networks
            (weight regularizers, `add_loss`) to the loss.

    Example:
        >>> Phase("encoder", networks=("encoder",), optimizer="encoder",
        ...       loss=lambda real, fake: (ops.mean(ops.abs(fake["x"] - real["x"])), {}),
        ...       fakes="live")
    """

    name: str
    networks: Tuple[str, ...] = ()
    optimizer: Optional[str] = None
    loss: Optional[Callable] = None
    every: int = 1
    repeat: int = 1
    after: Tuple[Callable, ...] = ()
    fakes: str = "detached"
    logs: Tuple[str, ...] = ()
    total_log: Optional[str] = None
    network_losses: bool = True

    def __post_init__(self):
        object.__setattr__(self, "networks", tuple(self.networks))
        object.__setattr__(self, "after", tuple(self.after))
        object.__setattr__(self, "logs", tuple(self.logs))
        if int(self.every) < 1 or int(self.repeat) < 1:
            raise ValueError(f"Phase {self.name!r}: every and repeat must be >= 1, got {self.every}, {self.repeat}.")
        if self.fakes not in FAKES:
            raise ValueError(f"Phase {self.name!r}: fakes must be one of {FAKES}, got {self.fakes!r}.")
        if (self.loss is None) != (self.optimizer is None) or (self.loss is not None and not self.networks):
            raise ValueError(
                f"Phase {self.name!r}: a phase that updates weights needs loss, optimizer and networks; "
                "a hook-only phase has none of them (only `after`)."
            )
        if self.total_log is not None and self.total_log not in self.logs:
            object.__setattr__(self, "logs", (*self.logs, self.total_log))

    @property
    def updates(self):
        """True when the phase takes a gradient step (False for hook-only phases)."""
        return self.loss is not None

    def with_logs(self, *names):
        """A copy that also logs `names` (a family adding a loss term).

        Example:
            >>> d, g, *rest = super().phases()
            >>> return [d.with_logs("d_class"), g.with_logs("g_class"), *rest]
        """
        return dataclasses.replace(self, logs=(*self.logs, *(n for n in names if n not in self.logs)))

    def replace(self, **changes):
        """A copy with some fields changed.

        Example:
            >>> phase.replace(repeat=5)
        """
        return dataclasses.replace(self, **changes)


def check_schedule(phases, network_names):
    """Validate a phase list against the model's networks; return it as a tuple.

    Example:
        >>> check_schedule(gan.phases(), gan.network_names())
    """
    phases = tuple(phases)
    names = [p.name for p in phases]
    if len(set(names)) != len(names):
        raise ValueError(f"Phase names must be unique, got {names}.")
    for phase in phases:
        for net in phase.networks:
            if net not in network_names:
                raise ValueError(
                    f"Phase {phase.name!r} trains network {net!r}, which the model does not have; "
                    f"its networks are {', '.join(network_names)}."
                )
    for i, phase in enumerate(phases):
        if phase.fakes != "shared":
            continue
        providers = [p for p in phases[:i] if p.fakes == "detached"]
        if not providers:
            raise ValueError(f'Phase {phase.name!r} has fakes="shared" but no earlier phase draws fakes ("detached").')
        if phase.every != 1 or providers[-1].every != 1:
            raise ValueError(f"Phase {phase.name!r} shares fakes: it and {providers[-1].name!r} must run every step.")
        between = phases[phases.index(providers[-1]) + 1:i]
        changed = [p.name for p in between if p.updates and set(p.networks) & set(phase.networks)]
        if changed:
            raise ValueError(
                f"Phase {phase.name!r} shares the fakes of {providers[-1].name!r}, but {changed} update its "
                "networks in between, so the shared forward pass would be stale; draw them live instead."
            )
    return phases


def fake_providers(phases):
    """`{provider phase name: consumer phase}` for each phase with fakes="shared".

    Example:
        >>> fake_providers(gan.schedule)       # {"discriminator": <generator phase>} with share_fakes
    """
    out = {}
    for i, phase in enumerate(phases):
        if phase.fakes == "shared":
            out[[p for p in phases[:i] if p.fakes == "detached"][-1].name] = phase
    return out
