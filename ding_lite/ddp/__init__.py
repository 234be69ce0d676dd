"""Training on several processes with ``torchrun`` and ``torch.nn.parallel.DistributedDataParallel``.

    torchrun --nproc_per_node=2 -m ding_lite.entry.cli -m bc -c dizoo_configs/reacher_act_config.py -s 0

Modules, one job each: ``world`` (which process this is; the process group's life), ``collectives`` (the
small all-reduces and broadcasts beside DDP's), ``sampler`` (each rank's share of the global batches),
``loss`` (the policy's loss as the module DDP wraps), ``replica`` (the non-writing learner and logger of
ranks other than 0, and per-rank seeding) and ``bc_run`` (``ding -m bc`` as one rank). docs/ddp.md says what
a user sees. Nothing here is imported by a single-process run beyond ``world``'s check of the environment.
"""
