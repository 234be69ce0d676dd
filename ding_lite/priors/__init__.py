"""Priors for online RL: starting SAC from a behaviour-cloning model (:mod:`.bc_pretrain`)."""
