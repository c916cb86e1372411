"""Settings of the Diehl & Cook 2015 network (defaults: the authors' code)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

from ...errors import ParameterError, check_int, check_number

__all__ = ["DiehlCookConfig"]


@dataclass(frozen=True)
class DiehlCookConfig:
    """Settings of the Diehl & Cook network and its training (defaults: the authors' code,
    peter-u-diehl/stdp-mnist; units in the names).

    Attributes
    ----------
    neurons : int
        Excitatory neurons (as many inhibitory ones).
    epochs : int
        Passes over the training images.
    max_train_images : int or None
        Use only the first of the (shuffled) training images per epoch.
    repeat_train : int
        Show the training set this many times per epoch (``repeat_train x`` the presentations,
        to compare with runs over more distinct images at the same number of presentations).
    slots : int
        Images per run of the compiled binary (one chunk; a checkpoint after each).
    intensity : float
        Input rate = pixel (0-255) / 8 x intensity Hz.
    min_spikes, max_intensity : int, float
        An image that gave fewer than ``min_spikes`` excitatory spikes is shown again with the
        intensity raised by 1, up to ``max_intensity`` (then its counts are taken as they are).
    curve : tuple of int
        Presentations (training images shown, repeats not counted) after which the held-out
        accuracy is measured for the learning curve (the end of training is always measured).
    timer_rate : float
        ``dtimer/dt`` of the authors' timer (spikes need ``timer > 5 ms``): 100 as Brian 1 reads
        their ``dtimer/dt = 100.0 : ms`` (the timer is open one step after a spike); 0.1 as
        Brian2's example port (50 ms between a neuron's spikes).
    curve_assign_images : int
        Training images whose responses assign the labels at the intermediate curve points (the
        final evaluation uses every training image).
    eval_images : int or None
        Final evaluation on fixed random, class-balanced subsets of at most this many training
        (label assignment, readout fit; at least 50: the readout validates on a fifth of them) and test images (None: all of them; smaller for quick checks).
    """

    neurons: int = 100
    epochs: int = 3
    max_train_images: int | None = None
    repeat_train: int = 1
    slots: int = 50
    dt_ms: float = 0.5
    t_image_ms: float = 350.0
    t_rest_ms: float = 150.0
    intensity: float = 2.0
    min_spikes: int = 5
    max_intensity: float = 12.0
    theta0_mV: float = 20.0
    theta_plus_mV: float = 0.05
    tc_theta_ms: float = 1e7
    refrac_e_ms: float = 5.0
    timer_rate: float = 100.0
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    tau_pre_ms: float = 20.0
    tau_post1_ms: float = 20.0
    tau_post2_ms: float = 40.0
    w_max: float = 1.0
    w_total: float = 78.0
    delay_max_ms: float = 10.0
    w_exc_inh: float = 10.4
    w_inh_exc: float = 17.0
    curve: tuple = (1000, 2000, 4000, 8000, 16000, 32000)
    curve_assign_images: int = 1000
    eval_images: int | None = None

    def __post_init__(self):
        check_int("neurons", self.neurons, low=1, high=6400)
        check_int("epochs", self.epochs, low=0, high=1000)
        if self.max_train_images is not None:
            check_int("max_train_images", self.max_train_images, low=1)
        check_int("repeat_train", self.repeat_train, low=1, high=1000)
        check_int("slots", self.slots, low=1, high=1000)
        check_number("dt_ms", self.dt_ms, low=0.01, high=1.0)
        check_number("t_image_ms", self.t_image_ms, low=self.dt_ms, high=10_000)
        check_number("t_rest_ms", self.t_rest_ms, low=0, high=10_000)
        check_number("intensity", self.intensity, low=0, high=20, low_open=True)
        check_int("min_spikes", self.min_spikes, low=0, high=10_000)
        check_number("max_intensity", self.max_intensity, low=self.intensity, high=60)
        if self.max_intensity * 255 / 8 * self.dt_ms * 1e-3 > 1:
            raise ParameterError(f"max_intensity: got {self.max_intensity:g}; allowed: rates up to 1/dt "
                                 f"(at most {8e3 / 255 / self.dt_ms:.1f} for dt {self.dt_ms:g} ms)")
        for name in ("theta0_mV", "theta_plus_mV"):
            check_number(name, getattr(self, name), low=0, high=100)
        for name in ("tc_theta_ms", "tau_pre_ms", "tau_post1_ms", "tau_post2_ms"):
            check_number(name, getattr(self, name), low=0.1, high=1e12)
        check_number("refrac_e_ms", self.refrac_e_ms, low=0, high=1000)
        check_number("timer_rate", self.timer_rate, low=0, high=1e6, low_open=True)
        for name in ("nu_pre", "nu_post"):
            check_number(name, getattr(self, name), low=0, high=1)
        check_number("w_max", self.w_max, low=0, high=100, low_open=True)
        check_number("w_total", self.w_total, low=0, high=784 * self.w_max, low_open=True)
        check_number("delay_max_ms", self.delay_max_ms, low=0, high=100)
        for name in ("w_exc_inh", "w_inh_exc"):
            check_number(name, getattr(self, name), low=0, high=1000)
        curve = tuple(self.curve)
        for k in curve:
            check_int("curve", k, low=1)
        if list(curve) != sorted(set(curve)):
            raise ParameterError(f"curve: got {curve}; allowed: increasing presentation counts")
        object.__setattr__(self, "curve", curve)
        check_int("curve_assign_images", self.curve_assign_images, low=50)
        if self.eval_images is not None:
            check_int("eval_images", self.eval_images, low=50)   # the readout validates on a fifth: 10 classes

    def with_(self, **changes):
        """A copy with ``changes`` (checked)."""
        names = {f.name for f in fields(self)}
        for k in changes:
            if k not in names:
                from difflib import get_close_matches

                near = get_close_matches(k, sorted(names), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ParameterError(f"{k}: not a Diehl & Cook setting{hint}; allowed: {', '.join(sorted(names))}")
        return replace(self, **changes)

    def structure(self):
        """The settings the compiled project depends on."""
        keep = ("neurons", "slots", "dt_ms", "t_image_ms", "t_rest_ms", "tau_pre_ms", "tau_post1_ms", "tau_post2_ms",
                "w_max", "w_total", "delay_max_ms", "w_exc_inh", "w_inh_exc", "refrac_e_ms", "timer_rate")
        return {k: getattr(self, k) for k in keep}

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)
