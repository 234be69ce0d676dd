"""``serial_loop_ray``: the off-policy loop of :mod:`ding_lite.entry.serial_entry` with its collection in Ray
actors (``policy.distributed.engine='ray'``; docs/ray.md).

The learner, this process, keeps the replay buffer, the updates, the evaluator, the logs and the
checkpoints; ``policy.distributed.n_actors`` actors (:mod:`ding_lite.actors`) step the collector envs. Each
loop: evaluate when due (stop at the stop value); take whichever actor's collect call finished first and
give that actor its next call at once, so actors collect while the learner trains; store the report's
transitions and count its env steps; train ``update_per_collect`` times, as the serial loop does after each
collect; publish the weights when ``weight_push_every_s`` seconds have passed. A normal end (stop value,
``max_train_iter``, ``max_env_step``) waits for the calls in flight and stores them before the final
checkpoint; a stop by SIGTERM/SIGINT checkpoints at once, and the steps in flight are never counted.

Checkpoints hold what a serial one does plus ``distributed``: every actor's counters
(:meth:`ActorPool.state_dict`). A resume continues the counters, the buffer and ``train_iter`` exactly;
the actors start new episodes, so the run cannot match an uninterrupted one step for step.
"""

from __future__ import annotations

from ding_lite.actors.collect_actor import CollectReport
from ding_lite.actors.pool import ActorPool
from ding_lite.actors.runtime import ray_session
from ding_lite.actors.weights import WeightPublisher
from ding_lite.checkpoint import io as ckpt_io
from ding_lite.config.loader import to_plain
from ding_lite.entry import training_state
from ding_lite.entry.build import Experiment
from ding_lite.entry.offline_pretrain import pretrain_on_offline, pretrain_updates
from ding_lite.policy import Policy


def serial_loop_ray(
    exp: Experiment, seed: int, *, max_train_iter: int, max_env_step: int, ray_address: str | None = None
) -> Policy:
    """Train ``exp`` (built by ``build_experiment``, not started) with Ray actors collecting; ``ray_address``:
    the cluster to join (:mod:`ding_lite.actors.runtime`)."""
    n_actors = int(exp.cfg.policy.distributed.n_actors)
    with ray_session(ray_address, n_actors):
        exp.stop_request.uninstall()  # ray.init replaced the SIGTERM handler: take it back
        exp.stop_request.install()
        publisher = WeightPublisher(float(exp.cfg.policy.distributed.weight_push_every_s))
        pool = ActorPool(to_plain(exp.cfg), n_actors, seed, publisher, exp.logger)  # actors build meanwhile
        exp.learner.extra_state = lambda: {**training_state.capture(exp), "distributed": pool.state_dict()}
        try:
            _start(exp, pool, max_train_iter)
            stop = _train(exp, pool, max_train_iter, max_env_step)
            for report in pool.drain(exp.learner.train_iter):
                _store(exp, report)
            exp.finish(stop)
        finally:
            pool.close()
    return exp.policy


def _start(exp: Experiment, pool: ActorPool, max_train_iter: int) -> None:
    """Restore the run (and the actors' counters) on resume, publish the weights, wait for the actors."""
    exp.start()  # loads the checkpoint, if any: the loop continues from the restored counters
    pretrain_on_offline(exp, max_train_iter)  # before the actors get their first weights
    learner = exp.learner
    extras = (learner.loaded_state or {}).get(ckpt_io.EXTRAS, {}) if learner.resume_training else {}
    pool.restore(extras.get("distributed"), exp.collector.env_step)
    pool.publisher.push(exp.policy, learner.train_iter)
    pool.wait_ready()


def _train(exp: Experiment, pool: ActorPool, max_train_iter: int, max_env_step: int) -> bool:
    """The loop of the module docstring; True when it stopped at the stop value."""
    cfg, learner, collector, buffer = exp.cfg.policy, exp.learner, exp.collector, exp.buffer
    assert buffer is not None  # build_experiment checked the policy is off-policy
    n_sample, batch_size = int(cfg.collect.n_sample), int(cfg.learn.batch_size)
    warmup = int(cfg.get("random_collect_size", 0) or 0)  # random actions until this many steps arrived
    print_freq, last_log = int(cfg.collect.collector.collect_print_freq), learner.train_iter
    pretrained = pretrain_updates(cfg)  # train iterations done before any env step

    def submit(index: int) -> None:
        random_actions = learner.train_iter == pretrained and collector.env_step < warmup
        pool.submit(index, n_sample, collector.env_step, random_actions)

    for index in range(len(pool.actors)):
        submit(index)
    while learner.train_iter < max_train_iter:
        if exp.loop.get("updates_left", 0) == 0:
            exp.check_stop_request()
            if collector.env_step >= max_env_step:
                return False
            if exp.evaluate():
                return True
            index, report = pool.next_report(learner.train_iter)
            submit(index)
            if report is not None:
                _store(exp, report)
            ready = len(buffer) >= batch_size and (learner.train_iter > pretrained or collector.env_step >= warmup)
            exp.loop["updates_left"] = int(cfg.learn.update_per_collect) if report is not None and ready else 0
        while exp.loop["updates_left"] > 0 and learner.train_iter < max_train_iter:
            exp.loop["updates_left"] -= 1
            learner.train(exp.sample(batch_size), collector.env_step)
            exp.check_stop_request()
        pool.publisher.maybe_push(exp.policy, learner.train_iter)
        if learner.train_iter - last_log >= print_freq:
            pool.log(collector.env_step)
            last_log = learner.train_iter
        exp.update_progress()
    return False


def _store(exp: Experiment, report: CollectReport) -> None:
    """A report's transitions into the replay buffer; its steps and episodes into the collector's counters."""
    for transitions in report.transitions:
        exp.store(transitions)
    exp.collector.count_remote(report.env_steps, report.episodes)
    exp.collector.maybe_log(exp.learner.train_iter)
