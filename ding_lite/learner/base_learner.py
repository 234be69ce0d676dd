"""``BaseLearner``: counts train iterations, runs hooks, and owns checkpoint save and load.

``train(batch, env_step)`` runs ``before_iter`` hooks, one policy update, increments ``train_iter`` and
then runs ``after_iter`` hooks, so a checkpoint saved by an ``after_iter`` hook at iteration N holds the
state after exactly N updates. Hooks save through :meth:`save_checkpoint`; the learner never looks a hook
up by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.checkpoint import store
from ding_lite.errors import CheckpointError
from ding_lite.learner.hooks import POSITIONS, LearnerHook, build_hooks, hook_section_defaults
from ding_lite.policy.base import Policy
from ding_lite.utils.log import ExperimentLogger

log = logging.getLogger("ding_lite")


def learner_default_config() -> dict[str, Any]:
    return dict(
        type="base",
        import_names=[],
        train_iterations=int(1e10),
        dataloader=dict(num_workers=0),
        log_policy=True,
        keep_last_n=5,  # iteration_* checkpoints kept (newest first); 0 keeps all
        export_best=False,  # also export each ckpt_best as <exp>/ckpt/best/pretrained_model/
        hook=hook_section_defaults(),
    )


class BaseLearner:
    def __init__(
        self,
        cfg: Mapping[str, Any],
        policy: Policy,
        exp_dir: str | Path,
        logger: ExperimentLogger,
        *,
        policy_type: str = "",
        resume_training: bool = False,
    ) -> None:
        self.cfg = cfg
        self.policy = policy
        self.exp_dir = Path(exp_dir)
        self.logger = logger
        self.policy_type = policy_type
        self.resume_training = resume_training
        self.train_iter = 0
        self.env_step = 0
        # False while updates happen before any env step (offline pretraining): the *_step tags would stack
        # their points at env step 0, so only the *_iter ones are written
        self.logs_over_env_step = True
        self.loaded_env_step: int | None = None
        self.loaded_state: dict[str, Any] | None = None
        self.loaded_path: Path | None = None
        self.extra_state: Callable[[], dict[str, Any]] | None = None
        self._hooks: dict[str, list[LearnerHook]] = {p: [] for p in POSITIONS}
        self._monitor: dict[str, list[float]] = {}
        self._deferred_saves: list[tuple[str, bool]] | None = None
        # called with (state, path) after a checkpoint is read and before anything is restored from it
        self.before_load: Callable[[dict[str, Any], Path], None] | None = None
        for hook in build_hooks(cfg["hook"]):
            self.register_hook(hook)

    @property
    def ckpt_dir(self) -> Path:
        return self.exp_dir / ckpt_io.CKPT_DIR

    def register_hook(self, hook: LearnerHook) -> None:
        """Add a hook; it runs after every registered hook of lower or equal priority."""
        queue = self._hooks[hook.position]
        index = len(queue)
        while index > 0 and queue[index - 1].priority > hook.priority:
            index -= 1
        queue.insert(index, hook)

    def hooks(self, position: str) -> list[LearnerHook]:
        return list(self._hooks[position])

    def call_hook(self, position: str) -> None:
        """Run the hooks of one position; checkpoints they ask for are written once all of them ran, so a
        checkpoint always holds the state after every hook of that moment (logs flushed included)."""
        self._deferred_saves = []
        try:
            for hook in self._hooks[position]:
                hook(self)
            pending = self._deferred_saves
        finally:
            self._deferred_saves = None
        for name, logged in dict.fromkeys(pending):
            self._write_checkpoint(name, logged)

    def train(self, batch: Any, env_step: int) -> dict[str, float]:
        """One policy update: before_iter hooks, update, ``train_iter += 1``, after_iter hooks."""
        self.env_step = env_step
        self.call_hook("before_iter")
        log_vars = self.policy.learn_mode.forward(batch)
        self.train_iter += 1
        for key, value in log_vars.items():
            self._monitor.setdefault(key, []).append(value)
        self.call_hook("after_iter")
        return log_vars

    def flush_monitor(self) -> None:
        """Write the averages of the variables seen since the last flush (DI-engine's ``*_avg`` tags)."""
        if not self._monitor:
            return
        averages = {key: sum(values) / len(values) for key, values in self._monitor.items()}
        self._monitor.clear()
        for key, value in averages.items():
            self.logger.scalar(f"learner_iter/{key}_avg", value, self.train_iter)
            if self.logs_over_env_step:
                self.logger.scalar(f"learner_step/{key}_avg", value, self.env_step)
        text = " ".join(f"{key}={value:.4g}" for key, value in averages.items())
        self.logger.text("learner", f"train_iter {self.train_iter} env_step {self.env_step} {text}")

    # --- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The monitor window not yet logged and the state of every hook that has some (by hook name)."""
        hooks = {h.name: h.state_dict() for p in POSITIONS for h in self._hooks[p] if hasattr(h, "state_dict")}
        return {"monitor": {k: list(v) for k, v in self._monitor.items()}, "hooks": hooks}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._monitor = {k: list(v) for k, v in state["monitor"].items()}
        for position in POSITIONS:
            for hook in self._hooks[position]:
                if hasattr(hook, "load_state_dict") and hook.name in state["hooks"]:
                    hook.load_state_dict(state["hooks"][hook.name])

    def checkpoint_state(self) -> dict[str, Any]:
        state = dict(self.policy.learn_mode.state_dict())
        state[ckpt_io.LAST_ITER] = self.train_iter
        state[ckpt_io.LAST_STEP] = self.env_step
        extras: dict[str, Any] = {"format_version": ckpt_io.FORMAT_VERSION, "policy_type": self.policy_type}
        extras.update(state.pop(ckpt_io.EXTRAS, {}))
        if self.extra_state is not None:
            extras.update(self.extra_state())
        state[ckpt_io.EXTRAS] = extras
        return state

    def save_checkpoint(self, name: str | None = None, *, logged: bool = True) -> Path:
        """Write ``<exp>/ckpt/<name>`` (default ``iteration_<train_iter>.pth.tar``) atomically, then point
        ``latest`` at it and apply retention (``keep_last_n``). Called from a hook, the write happens when
        every hook of that position has run.

        ``logged``: a line in the learner's text log, written before the state is captured so that a run
        resumed from this checkpoint keeps it. Saves that end a run (its end, ``--train-iter``, SIGTERM) are
        not logged: an interrupted and resumed run's log then equals an uninterrupted one's.
        """
        name = name or ckpt_io.iteration_name(self.train_iter)
        if self._deferred_saves is not None:
            self._deferred_saves.append((name, logged))
            return self.ckpt_dir / name
        return self._write_checkpoint(name, logged)

    def _write_checkpoint(self, name: str, logged: bool) -> Path:
        path = self.ckpt_dir / name
        if logged:
            self.logger.text("learner", f"checkpoint {path}")
        ckpt_io.save_checkpoint(self.checkpoint_state(), path)
        store.write_latest(self.ckpt_dir, path.name)
        store.prune_iterations(self.ckpt_dir, int(self.cfg.get("keep_last_n", 5)))
        return path

    def load_checkpoint(self, path: str | Path) -> dict[str, Any]:
        """Restore the policy's learn state and ``train_iter``; with resume, ``env_step`` too.

        The whole file stays in ``loaded_state`` for the pipeline (which restores the rest on resume).
        """
        state = ckpt_io.load_checkpoint(path)
        if self.before_load is not None:
            self.before_load(state, Path(path))
        saved_type = state.get(ckpt_io.EXTRAS, {}).get("policy_type")
        if saved_type and self.policy_type and saved_type != self.policy_type:
            raise CheckpointError(
                f"checkpoint '{path}' was written by a '{saved_type}' policy; this config's policy is "
                f"'{self.policy_type}'"
            )
        try:
            self.policy.learn_mode.load_state_dict(state)
        except CheckpointError as err:
            raise CheckpointError(f"checkpoint '{path}': {err}") from None
        except KeyError as err:
            raise CheckpointError(
                f"checkpoint '{path}' has no {err} entry; is it a checkpoint of this policy?"
            ) from None
        self.train_iter = int(state.get(ckpt_io.LAST_ITER, 0))
        if hasattr(self.policy, "set_train_iter"):
            self.policy.set_train_iter(self.train_iter)
        if self.resume_training:
            self.loaded_env_step = int(state.get(ckpt_io.LAST_STEP, 0))
            self.env_step = self.loaded_env_step
        self.loaded_state = state
        self.loaded_path = Path(path)
        log.info("loaded checkpoint %s (train_iter %d)", path, self.train_iter)
        self.logger.text("learner", f"loaded checkpoint {path} at train_iter {self.train_iter}")
        return state
