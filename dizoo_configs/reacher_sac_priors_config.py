# SAC on Reacher-v5 with every prior (issue 12; docs/rl_with_priors.md). Before it, in the same directory:
#   ding -m bc -c dizoo_configs/reacher_act_config.py -s 0                    # the ACT whose encoder SAC starts from
#   ding -m bc -c dizoo_configs/reacher_reward_classifier_config.py -s 0      # the success classifier
# with the demonstrations at datasets/reacher_expert (e.g. tests/fixtures/lerobot/reacher_expert). Then:
#   ding -m serial -c dizoo_configs/reacher_sac_priors_config.py -s 0
# Compare with reacher_sac_config.py (from scratch) on the env's own return: evaluator_step/env_reward_mean.
from easydict import EasyDict

reacher_sac_priors_config = dict(
    exp_name='reacher_sac_priors_seed0',
    env=dict(
        env_id='Reacher-v5',
        collector_env_num=8,
        evaluator_env_num=5,
        n_evaluator_episode=10,
        stop_value=1000,  # the classifier's return never gets there: runs last their --env-step budget
        # success = the classifier's P(fingertip at the target) > 0.5; reward 1 per successful step. Reacher has
        # no end but its 50-step limit, so an episode goes on after a success (staying there is the task) and
        # the env's own returns stay comparable with the other runs' full-length episodes.
        reward_classifier=dict(
            pretrained_path='reacher_reward_classifier_seed0/checkpoints/best/pretrained_model',
            success_threshold=0.5,
            success_reward=1.0,
            terminate_on_success=False,
        ),
    ),
    policy=dict(
        cuda=False,
        random_collect_size=0,  # no random warm-up: the demonstrations fill half of every batch from the start
        model=dict(
            obs_shape=10,
            action_shape=2,
            twin_critic=True,
            action_space='reparameterization',
            actor_head_hidden_size=256,
            critic_head_hidden_size=256,
            # LeRobot's SAC encoder, its projections started from the ACT's (latent_dim = the ACT's dim_model)
            obs_encoder=dict(
                features={'observation.state': [0, 10], 'observation.environment_state': [4, 6]},
                latent_dim=64,
            ),
        ),
        bc_pretrain=dict(pretrained_path='reacher_act_seed0/checkpoints/last/pretrained_model', policy_type='act'),
        learn=dict(
            update_per_collect=8,
            batch_size=256,
            learning_rate_q=3e-4,
            learning_rate_policy=3e-4,
            learning_rate_alpha=3e-4,
            ignore_done=False,
            target_theta=0.005,
            discount_factor=0.99,
            auto_alpha=True,
        ),
        collect=dict(n_sample=8, ),
        eval=dict(evaluator=dict(eval_freq=500, )),
        other=dict(replay_buffer=dict(replay_buffer_size=100000, ), ),
        # the demonstrations: half of every batch (LeRobot's split), and 3,000 updates on them alone before the
        # first env step; Reacher's episodes end at its time limit
        offline_dataset=dict(root='datasets/reacher_expert', ratio=0.5, obs_features=['observation.state'],
                             episode_ends='truncated', pretrain_updates=3000),
    ),
)
reacher_sac_priors_config = EasyDict(reacher_sac_priors_config)
main_config = reacher_sac_priors_config
reacher_sac_priors_create_config = dict(
    env=dict(type='gymnasium'),
    env_manager=dict(type='base'),
    policy=dict(type='sac'),
)
reacher_sac_priors_create_config = EasyDict(reacher_sac_priors_create_config)
create_config = reacher_sac_priors_create_config
