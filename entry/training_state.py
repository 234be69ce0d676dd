"""Everything a run needs to continue exactly, gathered into (and restored from) a checkpoint's extras.

Saved under the checkpoint's ``ding_lite`` key, beside DI-engine's keys::

    config      the compiled config (checked by the resume guard)
    rng         Python, NumPy and torch global generators;  policy_rng: the policy's NumPy generator
    learner     the monitor window not yet logged, stateful hooks by name
    collector   env_step, episode totals, logging window, every env mid-episode, and the intervention's
                per-episode counters (None without policy.intervention)
    evaluator   last evaluation iteration and value, best value
    buffer      the replay buffer with its sampler (off-policy);  nstep: transitions not yet complete
    offline_buffer  the offline buffer's contents and sampler (with policy.offline_dataset or an intervention
                controller: demonstrations and intervened transitions)
    loop        where the loop is: updates left in this collect (off-policy) or the train cycle (on-policy)
    logs        how many TensorBoard scalars and text-log bytes belong to this moment
    world_size, rank_env_steps, rank_states   under torchrun only (ding_lite.ddp.serial_run): the number of
                processes (absent: 1), the env steps each collected, and the state above (config aside) of
                ranks 1, 2, ...; the state above is rank 0's
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.checkpoint.resume_guard import check_resume_config
from ding_lite.config.loader import to_plain
from ding_lite.ddp.world import check_resume_world_size
from ding_lite.errors import CheckpointError
from ding_lite.utils.rng import capture_global_rng, generator_state, restore_global_rng, set_generator_state

if TYPE_CHECKING:
    from ding_lite.entry.build import Experiment

log = logging.getLogger("ding_lite")


def capture(exp: Experiment) -> dict[str, Any]:
    cycle = exp.loop.get("cycle")
    state = {
        "config": to_plain(exp.cfg),
        "rng": capture_global_rng(),
        "policy_rng": generator_state(exp.policy.rng),
        "learner": exp.learner.state_dict(),
        "collector": exp.collector.state_dict(),
        "evaluator": exp.evaluator.state_dict(),
        "buffer": exp.buffer.state_dict() if exp.buffer is not None else None,
        "nstep": exp.nstep.state_dict() if exp.nstep is not None else None,
        "loop": {"updates_left": int(exp.loop.get("updates_left", 0)), "cycle": cycle.state_dict() if cycle else None},
        "logs": exp.logger.state_dict(),
    }
    if exp.replay is not None:
        state["offline_buffer"] = exp.replay.offline.state_dict()
    return state


def guard(exp: Experiment, state: dict[str, Any], path: Path) -> None:
    """Before a resume restores anything: the checkpoint's number of processes and config must match the
    current ones."""
    extras = state.get(ckpt_io.EXTRAS, {})
    if exp.learner.resume_training and "collector" in extras:  # a torchrun run resumes with its world size
        check_resume_world_size(int(extras.get("world_size", 1)), 1 if exp.world is None else exp.world.size, path)
    if exp.learner.resume_training and "config" in extras:
        check_resume_config(extras["config"], to_plain(exp.cfg), str(path))
    if exp.learner.resume_training and "collector" in extras:
        saved = extras["collector"].get("intervention") is not None
        if saved != (exp.collector.intervention is not None):
            raise CheckpointError(
                f"cannot resume from '{path}': it was written by a run {'with' if saved else 'without'} an "
                f"intervention controller and this run has {'none' if saved else 'one'}; resume with the same "
                "controller (serial_pipeline(..., intervention=...) or policy.intervention) or start a new run"
            )


def restore(exp: Experiment) -> None:
    """After ``before_run`` hooks: on resume, continue from the loaded checkpoint's full training state."""
    state = exp.learner.loaded_state
    if state is None or not exp.learner.resume_training:
        return
    extras = state.get(ckpt_io.EXTRAS, {})
    path = str(exp.learner.loaded_path)
    if "collector" not in extras:
        log.warning(
            "%s holds no ding_lite training state (a DI-engine checkpoint?): resuming weights, optimizer and "
            "counters only, so the run will not match an uninterrupted one",
            path,
        )
        exp.collector.env_step = int(exp.learner.loaded_env_step or 0)
        return
    restore_extras(exp, extras)
    log.info("resumed exactly from %s at train_iter %d, env_step %d", path, exp.learner.train_iter,
             exp.collector.env_step)  # fmt: skip


def restore_extras(exp: Experiment, extras: dict[str, Any]) -> None:
    """Restore what ``capture`` gathered, config aside (under torchrun, each rank restores its own part)."""
    exp.learner.load_state_dict(extras["learner"])
    exp.collector.load_state_dict(extras["collector"])
    exp.learner.env_step = exp.collector.env_step
    exp.evaluator.load_state_dict(extras["evaluator"])
    if exp.buffer is not None and extras["buffer"] is not None:
        exp.buffer.load_state_dict(extras["buffer"])
    if exp.replay is not None and extras.get("offline_buffer") is not None:  # the guard ensured it is there
        exp.replay.offline.load_state_dict(extras["offline_buffer"])
    if exp.nstep is not None and extras["nstep"] is not None:
        exp.nstep.load_state_dict(extras["nstep"])
    loop = extras["loop"]
    exp.loop["updates_left"] = int(loop["updates_left"])
    if loop["cycle"] is not None:
        exp.loop["cycle"] = exp.policy.learn_mode.restore_cycle(loop["cycle"])
    exp.logger.restore(extras["logs"])
    restore_global_rng(extras["rng"])
    set_generator_state(exp.policy.rng, extras["policy_rng"])
