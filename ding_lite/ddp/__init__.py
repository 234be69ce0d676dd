"""Training on several processes with ``torchrun`` and ``torch.nn.parallel.DistributedDataParallel``.

    torchrun --nproc_per_node=2 -m ding_lite.entry.cli -m bc -c dizoo_configs/reacher_act_config.py -s 0
    torchrun --nproc_per_node=2 -m ding_lite.entry.cli -m serial -c dizoo_configs/cartpole_dqn_config.py -s 0

Modules, one job each: ``world`` (which process this is; the process group's life), ``collectives`` (the
small all-reduces and broadcasts beside DDP's), ``sampler`` (each rank's share of the global batches),
``loss`` (the policy's loss as the module DDP wraps), ``replica`` (the non-writing learner and logger of
ranks other than 0, and per-rank seeding), ``bc_run`` (``ding -m bc`` as one rank), and for ``ding -m serial``
``grad_sync`` (gradients averaged before each optimizer step), ``state_transfer`` (a rank's training state
sent as tensors) and ``serial_run`` (the off-policy run as one rank). docs/ddp.md says what a user sees. A
single-process run uses nothing here beyond ``world``'s check of the environment.
"""
